/**
 * The admin HTTP endpoint (loopback only): health, hub listing, runtime hub creation and
 * consumer-group deletion (`DELETE /hubs/<hub>/consumergroups/<group>`), and
 * fault injection (detach readers, drop connections, add latency) for tests and drills.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EhwError } from "../../common/errors.js";
import type { Logger } from "../../observability/logger.js";
import type { RawHubSpec } from "../config.js";
import { isLoopbackHost } from "../config.js";
import { EmulatorProtocolError } from "../errors.js";

/** A hub as the admin endpoint reports it. */
export interface HubSummary {
  /** Hub name. */
  name: string;
  /** Partition count. */
  partitionCount: number;
  /** Consumer groups, `$Default` first. */
  consumerGroups: string[];
}

/** What the admin endpoint may do to the emulator. */
export interface AdminControl {
  /** Hubs, in creation order. */
  listHubs(): HubSummary[];
  /** Number of open AMQP connections. */
  connectionCount(): number;
  /** Creates a hub (idempotent for the same shape). @throws ConfigError, EmulatorProtocolError */
  createHub(raw: RawHubSpec): { created: boolean; hub: HubSummary };
  /** Detaches readers (all, or one hub's / partition's) with a retriable condition. */
  detachReaders(filter: { hub?: string; partitionId?: string }): number;
  /** Deletes a consumer group and detaches its readers; false when hub or group is unknown. */
  deleteConsumerGroup(hub: string, consumerGroup: string): boolean;
  /** Closes every client connection. */
  dropConnections(): number;
  /** Sets the injected latency in ms (0 clears). */
  setLatencyMs(ms: number): void;
}

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  /** Listen host; off loopback only with a token. */
  host: string;
  /** Bearer token required on every route but `GET /health`; default none (loopback use). */
  token?: string;
  /** Listen port; 0 = any free port. */
  port: number;
  /** The emulator operations exposed. */
  control: AdminControl;
  /** Logger, scoped by the caller. */
  logger: Logger;
}

/** The running admin endpoint. */
export interface AdminServer {
  /** The bound port. */
  readonly port: number;
  /** Stops listening and ends open requests. */
  close(): Promise<void>;
}

/** Largest accepted request body, in bytes. */
const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the admin endpoint. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    guard(req, options)
      .then(() => handle(req, res, options.control))
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : statusOf(err);
        if (status >= 500) options.logger.error({ err }, "admin request failed");
        send(res, status, { error: err instanceof Error ? err.message : String(err) });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Refuses what a web page could send: a browser may POST text/plain (or nothing) cross-origin
 * without asking, and a DNS-rebinding page reaches loopback under a foreign Host. JSON bodies
 * need a CORS preflight this endpoint never answers, so requiring them blocks pages outright.
 */
async function guard(req: IncomingMessage, options: AdminServerOptions): Promise<void> {
  const method = req.method ?? "GET";
  const host = hostName(req.headers.host);
  if (options.token === undefined && (host === undefined || !isLoopbackHost(host))) {
    throw new HttpError(403, "the admin endpoint answers only requests addressed to a loopback host");
  }
  const origin = req.headers.origin;
  if (origin !== undefined && hostName(safeUrlHost(origin)) !== host) {
    throw new HttpError(403, `requests from origin ${origin} are refused`);
  }
  const path = new URL(req.url ?? "/", "http://admin").pathname;
  if (options.token !== undefined && !(method === "GET" && path === "/health")) {
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      throw new HttpError(401, 'admin token required: send "Authorization: Bearer <token>"');
    }
  }
  if (method === "POST" || method === "PUT") {
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") {
      throw new HttpError(415, `${method} bodies must be JSON (content-type: application/json)`);
    }
  }
}

/** The host name of a Host header or URL host, without the port. */
function hostName(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined;
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  return hostHeader.split(":")[0];
}

function safeUrlHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

function statusOf(err: unknown): number {
  if (err instanceof EmulatorProtocolError && err.condition === "com.microsoft:entity-already-exists")
    return 409;
  if (err instanceof EhwError) return 400;
  return 500;
}

async function handle(req: IncomingMessage, res: ServerResponse, control: AdminControl): Promise<void> {
  const path = new URL(req.url ?? "/", "http://admin").pathname.replace(/\/+$/, "") || "/";
  const method = req.method ?? "GET";
  if (method === "GET" && path === "/health") {
    return send(res, 200, {
      status: "ok",
      hubs: control.listHubs().length,
      connections: control.connectionCount(),
    });
  }
  if (method === "GET" && path === "/hubs") return send(res, 200, { hubs: control.listHubs() });
  const hubMatch = /^\/hubs\/([^/]+)$/.exec(path);
  if (method === "PUT" && hubMatch) {
    const body = objectBody(await readJson(req));
    const { created, hub } = control.createHub({ ...body, name: decodeURIComponent(hubMatch[1] ?? "") });
    return send(res, created ? 201 : 200, hub);
  }
  const groupMatch = /^\/hubs\/([^/]+)\/consumergroups\/([^/]+)$/i.exec(path);
  if (method === "DELETE" && groupMatch) {
    const hub = decodeURIComponent(groupMatch[1] ?? "");
    const group = decodeURIComponent(groupMatch[2] ?? "");
    if (!control.deleteConsumerGroup(hub, group)) {
      throw new HttpError(404, `hub '${hub}' has no consumer group '${group}'`);
    }
    return send(res, 200, { hub, consumerGroup: group, deleted: true });
  }
  if (method === "POST" && path === "/faults/detach") {
    const body = objectBody(await readJson(req));
    const filter: { hub?: string; partitionId?: string } = {};
    if (body.hub !== undefined) filter.hub = String(body.hub);
    if (body.partitionId !== undefined) filter.partitionId = String(body.partitionId);
    return send(res, 200, { detached: control.detachReaders(filter) });
  }
  if (method === "POST" && path === "/faults/drop-connections") {
    return send(res, 200, { dropped: control.dropConnections() });
  }
  if (method === "PUT" && path === "/faults/latency") {
    const ms = objectBody(await readJson(req)).ms;
    if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0 || ms > 600_000) {
      throw new HttpError(
        400,
        'body must be {"ms": n} with n a whole number of milliseconds from 0 to 600000',
      );
    }
    control.setLatencyMs(ms);
    return send(res, 200, { ms });
  }
  throw new HttpError(404, `no route for ${method} ${path}`);
}

function objectBody(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new HttpError(400, "body must be a JSON object");
  return value as Record<string, unknown>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
