import { createServer } from "node:net";
import { ProcessError } from "../common/errors.js";

/** Loopback address every local process binds by default. */
export const LOCAL_HOST = "127.0.0.1";

function listenOnce(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Returns a TCP port that was free on `host` a moment ago (bind port 0, read it, close). Another
 * process may still take it before the caller binds it; callers that can retry should.
 */
export function freePort(host = LOCAL_HOST): Promise<number> {
  return listenOnce(0, host);
}

/** Whether `port` on `host` can be bound right now. Errors other than "in use" propagate. */
export async function isPortFree(port: number, host = LOCAL_HOST): Promise<boolean> {
  try {
    await listenOnce(port, host);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") return false;
    throw err;
  }
}

/**
 * Throws a {@link ProcessError} naming `what` when `port` on `host` is already taken, so that a
 * child process does not have to fail first with an error we would have to read from its output.
 */
export async function assertPortFree(port: number, host: string, what: string): Promise<void> {
  try {
    await listenOnce(port, host);
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === "EADDRINUSE";
    const reason = inUse ? "is already in use" : "cannot be bound";
    throw new ProcessError(`${what}: port ${port} on ${host} ${reason}`, {
      cause: err,
      context: { port, host },
    });
  }
}
