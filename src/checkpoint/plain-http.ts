/**
 * A small HTTP/1.1 client for the checkpoint update: requests without a body, over keep-alive
 * connections kept per origin, each connection carrying one request at a time, and answers read
 * whole (by Content-Length, chunked, or to the end of the connection). Node's http client costs
 * the event loop about 0.4 ms per request besides the socket calls themselves (agent bookkeeping,
 * header validation, streams, next-tick hops); at the default of a checkpoint every 100 events that
 * was most of what separated checkpointEvery 100 from checkpointEvery 1000 in worker-throughput.
 * Here a request is one socket write of a prepared head and one parse of the answer.
 *
 * A kept connection the server has closed while it sat idle fails before any byte of an answer;
 * such a request is sent once more on a new connection, as Node's agent and undici do (the request
 * never reached the server). Idle connections close after the server's `Keep-Alive: timeout` hint
 * less a second, or after 30 s, and do not keep the process alive.
 */
import net, { isIP } from "node:net";
import tls from "node:tls";

/** Where requests go. */
export interface Origin {
  readonly secure: boolean;
  /** Host name or address, without IPv6 brackets. */
  readonly hostname: string;
  readonly port: number;
  /** The Host header: host and, when not the scheme's default, port (IPv6 in brackets). */
  readonly host: string;
}

/** The origin of an http or https URL. */
export function originOf(url: URL): Origin {
  const secure = url.protocol === "https:";
  return {
    secure,
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    host: url.host,
  };
}

/** An answer, read whole. Header names are lower case; repeated headers are joined with ", ". */
export interface PlainResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** Options of {@link PlainHttpClient}. */
export interface PlainHttpOptions {
  /** Longest wait for a whole answer, milliseconds; then the request fails with code ETIMEDOUT. */
  readonly timeoutMs: number;
  /** Longest an idle connection is kept when the server gives no hint, milliseconds; default 30000. */
  readonly idleMs?: number;
  /**
   * Certificate authorities to trust for https instead of Node's own (which NODE_EXTRA_CA_CERTS
   * extends); default Node's. The server's certificate is always verified against its host name.
   */
  readonly ca?: string | Buffer;
}

/** Keep-alive connections per origin; see the module comment. */
export class PlainHttpClient {
  private readonly idle = new Map<string, Connection[]>();
  private readonly all = new Set<Connection>();

  constructor(private readonly options: PlainHttpOptions) {}

  /** Sends `method path` with `headers` (no body) and reads the answer. */
  async request(
    origin: Origin,
    method: string,
    path: string,
    headers: Readonly<Record<string, string>>,
  ): Promise<PlainResponse> {
    const head = requestHead(method, path, origin.host, headers);
    const kept = this.idle.get(keyOf(origin))?.pop();
    if (kept !== undefined) {
      try {
        return await kept.send(head);
      } catch (err) {
        if (!(err instanceof StaleConnectionError)) throw err;
      }
    }
    return this.open(origin).send(head);
  }

  /** Closes every connection; requests in flight fail. */
  close(): void {
    for (const connection of this.all) connection.destroy(new Error("the HTTP client was closed"));
    this.all.clear();
    this.idle.clear();
  }

  private open(origin: Origin): Connection {
    const key = keyOf(origin);
    const connection = new Connection(origin, this.options, {
      idle: (c) => {
        let list = this.idle.get(key);
        if (list === undefined) {
          list = [];
          this.idle.set(key, list);
        }
        list.push(c);
      },
      closed: (c) => {
        this.all.delete(c);
        const list = this.idle.get(key);
        const at = list?.indexOf(c) ?? -1;
        if (at >= 0) list?.splice(at, 1);
      },
    });
    this.all.add(connection);
    return connection;
  }
}

function keyOf(origin: Origin): string {
  return `${origin.secure ? "https" : "http"}://${origin.host}`;
}

/** The request line and headers; throws on a line break in a value (a header cannot carry one). */
export function requestHead(
  method: string,
  path: string,
  host: string,
  headers: Readonly<Record<string, string>>,
): string {
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name] as string;
    if (/[\r\n]/.test(value) || /[\r\n:]/.test(name)) {
      throw new Error(`header ${JSON.stringify(name)} has a line break or colon where none may be`);
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/** A kept connection failed before any byte of the answer; the request may go on a new one. */
class StaleConnectionError extends Error {}

interface ConnectionEvents {
  idle(connection: Connection): void;
  closed(connection: Connection): void;
}

interface Pending {
  resolve(response: PlainResponse): void;
  reject(err: Error): void;
  parser: ResponseParser;
}

class Connection {
  private readonly socket: net.Socket;
  private pending: Pending | undefined;
  /** Whether a request has completed on this connection (so that it was kept, and may be stale). */
  private reused = false;
  private idleMs: number;
  private closed = false;

  constructor(
    private readonly origin: Origin,
    private readonly options: PlainHttpOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.idleMs = options.idleMs ?? 30_000;
    this.socket = origin.secure
      ? tls.connect({
          host: origin.hostname,
          port: origin.port,
          servername: isIP(origin.hostname) === 0 ? origin.hostname : undefined,
          ALPNProtocols: ["http/1.1"],
          ...(options.ca === undefined ? {} : { ca: options.ca }),
        })
      : net.connect({ host: origin.hostname, port: origin.port });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("end", () => this.onEnd());
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(closedError(this.origin)));
    this.socket.on("timeout", () => {
      if (this.pending === undefined) {
        this.destroy();
        return;
      }
      const timeout = Object.assign(
        new Error(`no answer from ${this.origin.host} within ${this.options.timeoutMs} ms`),
        { code: "ETIMEDOUT" },
      );
      this.fail(timeout);
    });
  }

  send(head: string): Promise<PlainResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StaleConnectionError("connection closed"));
      this.pending = { resolve, reject, parser: new ResponseParser() };
      this.socket.ref();
      this.socket.setTimeout(this.options.timeoutMs);
      this.socket.write(head, "latin1");
    });
  }

  /** Closes the connection; a request in flight fails with `err`. */
  destroy(err: Error = closedError(this.origin)): void {
    this.socket.destroy();
    this.fail(err);
  }

  private onData(chunk: Buffer): void {
    const pending = this.pending;
    if (pending === undefined) {
      this.destroy();
      return;
    }
    let response: PlainResponse | undefined;
    try {
      response = pending.parser.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (response !== undefined) this.complete(pending, response);
  }

  private onEnd(): void {
    const pending = this.pending;
    const response = pending?.parser.end();
    if (pending !== undefined && response !== undefined) this.complete(pending, response);
    this.destroy();
  }

  private complete(pending: Pending, response: PlainResponse): void {
    this.pending = undefined;
    pending.resolve(response);
    if (!pending.parser.keepsConnection()) {
      this.destroy();
      return;
    }
    this.reused = true;
    const hint = /timeout=(\d+)/i.exec(response.headers.get("keep-alive") ?? "")?.[1];
    if (hint !== undefined) this.idleMs = Math.min(this.idleMs, Math.max(0, Number(hint) * 1000 - 1000));
    if (this.idleMs === 0) {
      this.destroy();
      return;
    }
    this.socket.setTimeout(this.idleMs);
    this.socket.unref();
    this.events.idle(this);
  }

  /** Ends this connection and fails its request, if any, with `err`. */
  private fail(err: Error): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
      this.events.closed(this);
    }
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    // A kept connection that closed before answering never carried the request; a timeout may have.
    const timedOut = (err as { code?: unknown }).code === "ETIMEDOUT";
    const stale = this.reused && !pending.parser.started() && !timedOut;
    pending.reject(stale ? new StaleConnectionError(err.message, { cause: err }) : err);
  }
}

function closedError(origin: Origin): Error {
  return Object.assign(new Error(`${origin.host} closed the connection before it answered`), {
    code: "ECONNRESET",
  });
}

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

/** Reads one answer from the bytes of a connection; see {@link PlainResponse}. */
export class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);
  private status = 0;
  private headers: Map<string, string> | undefined;
  private version = "";
  /** `length`: Content-Length bytes; `chunked`; `close`: until the connection ends. */
  private mode: "length" | "chunked" | "close" = "close";
  private remaining = 0;
  private chunkState: "size" | "data" | "trailers" = "size";
  private readonly body: Buffer[] = [];
  private done = false;
  private anyBytes = false;

  /** Whether any byte of the answer arrived. */
  started(): boolean {
    return this.anyBytes;
  }

  /** Adds bytes; returns the answer once it is whole. Throws on bytes that are not HTTP. */
  push(chunk: Buffer): PlainResponse | undefined {
    if (this.done) throw new Error("bytes after a complete answer");
    this.anyBytes = true;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.headers === undefined && !this.readHead()) return undefined;
    return this.readBody();
  }

  /** The connection ended: the answer, when its length was "until the end". */
  end(): PlainResponse | undefined {
    if (this.done || this.headers === undefined || this.mode !== "close") return undefined;
    this.body.push(this.buffer);
    return this.finish();
  }

  /** Whether the connection may carry another request after this answer. */
  keepsConnection(): boolean {
    const connection = this.headers?.get("connection")?.toLowerCase() ?? "";
    if (this.mode === "close" || connection.includes("close")) return false;
    return this.version === "HTTP/1.1" || connection.includes("keep-alive");
  }

  private readHead(): boolean {
    const end = this.buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (this.buffer.length > 64 * 1024) throw new Error("answer headers longer than 64 KiB");
      return false;
    }
    const lines = this.buffer.toString("latin1", 0, end).split("\r\n");
    this.buffer = this.buffer.subarray(end + HEAD_END.length);
    const statusLine = /^(HTTP\/1\.[01]) (\d{3})/.exec(lines[0] ?? "");
    if (statusLine === null) throw new Error(`not an HTTP answer: ${JSON.stringify(lines[0])}`);
    this.version = statusLine[1] as string;
    this.status = Number(statusLine[2]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error(`malformed header line in an answer: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const before = headers.get(name);
      headers.set(name, before === undefined ? value : `${before}, ${value}`);
    }
    this.headers = headers;
    const length = headers.get("content-length");
    if (headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) this.mode = "chunked";
    else if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Error(`bad Content-Length in an answer: ${length}`);
      this.mode = "length";
      this.remaining = Number(length);
    } else if (this.status === 204 || this.status === 304 || this.status < 200) {
      this.mode = "length";
      this.remaining = 0;
    }
    return true;
  }

  private readBody(): PlainResponse | undefined {
    if (this.mode === "length") {
      if (this.buffer.length < this.remaining) return undefined;
      if (this.buffer.length > this.remaining) throw new Error("more bytes than the answer's Content-Length");
      this.body.push(this.buffer);
      return this.finish();
    }
    if (this.mode === "close") return undefined;
    return this.readChunks();
  }

  private readChunks(): PlainResponse | undefined {
    for (;;) {
      if (this.chunkState === "data") {
        // The chunk's bytes and the line break after them.
        if (this.buffer.length < this.remaining + CRLF.length) return undefined;
        this.body.push(this.buffer.subarray(0, this.remaining));
        this.buffer = this.buffer.subarray(this.remaining + CRLF.length);
        this.chunkState = "size";
        continue;
      }
      const eol = this.buffer.indexOf(CRLF);
      if (eol < 0) return undefined;
      const line = this.buffer.toString("latin1", 0, eol);
      this.buffer = this.buffer.subarray(eol + CRLF.length);
      if (this.chunkState === "trailers") {
        if (line !== "") continue;
        if (this.buffer.length > 0) throw new Error("bytes after a complete answer");
        return this.finish();
      }
      const size = /^([0-9a-fA-F]+)\s*(;.*)?$/.exec(line)?.[1];
      if (size === undefined) throw new Error(`bad chunk size in an answer: ${JSON.stringify(line)}`);
      this.remaining = Number.parseInt(size, 16);
      this.chunkState = this.remaining === 0 ? "trailers" : "data";
    }
  }

  private finish(): PlainResponse {
    this.done = true;
    return { status: this.status, headers: this.headers ?? new Map(), body: Buffer.concat(this.body) };
  }
}
