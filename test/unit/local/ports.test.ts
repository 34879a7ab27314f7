import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/common/errors.js";
import { assertPortFree, freePort, isPortFree } from "../../../src/local/ports.js";

const servers: Server[] = [];

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      servers.push(server);
      resolve(server);
    });
  });
}

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((r) => server.close(r));
});

describe("ports", () => {
  it("returns a bindable port and tells a taken one from a free one", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await isPortFree(port)).toBe(true);
    await occupy(port);
    expect(await isPortFree(port)).toBe(false);
    const err = await assertPortFree(port, "127.0.0.1", "cannot start thing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toBe(`cannot start thing: port ${port} on 127.0.0.1 is already in use`);
    expect((err as { cause: { code: string } }).cause.code).toBe("EADDRINUSE");
  });
});
