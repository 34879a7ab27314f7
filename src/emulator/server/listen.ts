/** Binding rhea's listeners, plain and TLS, with errors that say which flag to change. */
import type { Server, Socket } from "node:net";
import type { Container } from "rhea";
import { ConfigError } from "../../common/errors.js";

/** What {@link listenOn} passes to rhea's `container.listen`. */
export interface ListenOptions {
  /** Listen host. */
  host: string;
  /** Port; 0 = any free port. */
  port: number;
  /** `"tls"` for amqps (with `key` and `cert`); default plain TCP. */
  transport?: "tls";
  [option: string]: unknown;
}

/**
 * Starts one rhea listener and resolves once it is bound. `onSocket` sees each client socket: the
 * TCP one on a plain listener, the TLS one (plaintext side, after the handshake) on amqps.
 * @throws ConfigError naming `flag` when the port is taken or cannot be bound.
 */
export async function listenOn(
  container: Container,
  options: ListenOptions,
  flag: string,
  onSocket: (socket: Socket) => void,
): Promise<Server> {
  const server = container.listen(options as never) as Server;
  server.on(options.transport === "tls" ? "secureConnection" : "connection", onSocket);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", reject);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "EADDRINUSE" ? "is in use by another process" : `cannot be listened on (${code})`;
    throw new ConfigError(
      `${flag}: ${options.host}:${options.port} ${why}; choose another port (0 = any free port)`,
      {
        cause: err,
        context: { setting: flag },
      },
    );
  }
  return server;
}
