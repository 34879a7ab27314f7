/**
 * The checkpoint update's HTTP client against loopback servers that behave as storage may: keep a
 * connection, close it while it is idle, never answer, or cut an answer short.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { originOf, PlainHttpClient } from "../../../src/checkpoint/plain-http.js";

interface FakeServer {
  readonly url: string;
  /** Connections accepted so far. */
  connections: number;
  /** Request heads received so far, in order. */
  readonly requests: string[];
  readonly sockets: net.Socket[];
  close(): Promise<void>;
}

type Answer = (socket: net.Socket, request: string, index: number) => void;

const servers: FakeServer[] = [];
const clients: PlainHttpClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server on loopback that calls `answer` for every complete request head. */
async function fakeServer(answer: Answer): Promise<FakeServer> {
  const requests: string[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.push(socket);
    let buffered = "";
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => {
      buffered += text;
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        requests.push(head);
        answer(socket, head, requests.length - 1);
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const state: FakeServer = {
    url: `http://127.0.0.1:${port}/acct/container/blob`,
    connections: 0,
    requests,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(state);
  return state;
}

function client(timeoutMs = 5000): PlainHttpClient {
  const c = new PlainHttpClient({ timeoutMs });
  clients.push(c);
  return c;
}

const ok = (etag: string) => `HTTP/1.1 200 OK\r\nETag: ${etag}\r\nContent-Length: 0\r\n\r\n`;

async function put(c: PlainHttpClient, server: FakeServer, headers: Record<string, string> = {}) {
  const url = new URL(server.url);
  return c.request(originOf(url), "PUT", `${url.pathname}?comp=metadata`, headers);
}

describe("PlainHttpClient", () => {
  it("sends its requests one after another on one kept connection", async () => {
    const server = await fakeServer((socket, _head, i) => socket.write(ok(`"e${i}"`)));
    const c = client();
    for (let i = 0; i < 5; i++) {
      const response = await put(c, server, { "if-match": `"e${i - 1}"` });
      expect(response.headers.get("etag")).toBe(`"e${i}"`);
    }
    expect(server.connections).toBe(1);
    expect(server.requests[4]).toBe(
      `PUT /acct/container/blob?comp=metadata HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nif-match: "e3"`,
    );
  });

  it("opens one connection per request in flight, and keeps them all", async () => {
    const server = await fakeServer((socket) => setTimeout(() => socket.write(ok('"x"')), 20));
    const c = client();
    await Promise.all([put(c, server), put(c, server), put(c, server)]);
    await Promise.all([put(c, server), put(c, server), put(c, server)]);
    expect(server.connections).toBe(3);
    expect(server.requests).toHaveLength(6);
  });

  it("sends a request again on a new connection when the server closed the kept one while it was idle", async () => {
    const server = await fakeServer((socket) => socket.write(ok('"x"')));
    const c = client();
    await put(c, server);
    // The server drops the idle connection; the client sees the close only when it writes.
    const closed = new Promise((resolve) => server.sockets[0]?.once("close", resolve));
    server.sockets[0]?.destroy();
    await closed;
    expect((await put(c, server)).status).toBe(200);
    expect(server.connections).toBe(2);
  });

  it("closes a connection after the answer when the server's keep-alive hint leaves no idle time", async () => {
    const server = await fakeServer((socket) =>
      socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nETag: "x"\r\nContent-Length: 0\r\n\r\n'),
    );
    const c = client();
    await put(c, server);
    await put(c, server);
    expect(server.connections).toBe(2);
  });

  it("fails with ETIMEDOUT when no answer comes, without sending the request again", async () => {
    const server = await fakeServer(() => {});
    const error = await put(client(200), server).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: "ETIMEDOUT" });
    expect((error as Error).message).toMatch(/no answer from 127\.0\.0\.1:\d+ within 200 ms/);
    expect(server.requests).toHaveLength(1);
  });

  it("fails with ECONNRESET when a new connection closes in the middle of an answer", async () => {
    const server = await fakeServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
      socket.end();
    });
    const error = await put(client(), server).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: "ECONNRESET" });
    expect(server.requests).toHaveLength(1);
  });

  it("fails with the server's garbage named, and does not reuse that connection", async () => {
    const server = await fakeServer((socket, _head, i) =>
      socket.write(i === 0 ? "garbage\r\n\r\n" : ok('"x"')),
    );
    const c = client();
    await expect(put(c, server)).rejects.toThrow(/not an HTTP answer/);
    expect((await put(c, server)).status).toBe(200);
    expect(server.connections).toBe(2);
  });

  it("fails with the connection error when nothing listens", async () => {
    const server = await fakeServer(() => {});
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const error = await put(client(), server).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: "ECONNREFUSED" });
  });
});

// test/fixtures/tls holds a self-signed certificate for localhost and 127.0.0.1, valid 2000-2100,
// and its key: test material only, trusted nowhere else.
describe("PlainHttpClient over TLS", () => {
  const fixtures = new URL("../../fixtures/tls/", import.meta.url);
  const cert = readFileSync(new URL("cert.pem", fixtures));
  const key = readFileSync(new URL("key.pem", fixtures));

  async function tlsServer(): Promise<{ url: URL; connections: () => number; close: () => Promise<void> }> {
    let connections = 0;
    const sockets: tls.TLSSocket[] = [];
    const server = tls.createServer({ cert, key }, (socket) => {
      connections += 1;
      sockets.push(socket);
      socket.on("data", () => socket.write(ok('"tls"')));
      socket.on("error", () => {});
    });
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    return {
      url: new URL(`https://127.0.0.1:${port}/acct/c/b`),
      connections: () => connections,
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    };
  }

  it("speaks https on a kept connection to a server whose certificate it trusts", async () => {
    const server = await tlsServer();
    try {
      const c = new PlainHttpClient({ timeoutMs: 5000, ca: cert });
      clients.push(c);
      for (let i = 0; i < 3; i++) {
        const response = await c.request(originOf(server.url), "PUT", server.url.pathname, {});
        expect(response.headers.get("etag")).toBe('"tls"');
      }
      expect(server.connections()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("refuses a certificate it does not trust", async () => {
    const server = await tlsServer();
    try {
      const error = await client()
        .request(originOf(server.url), "PUT", server.url.pathname, {})
        .catch((err: unknown) => err);
      expect(error).toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    } finally {
      await server.close();
    }
  });
});
