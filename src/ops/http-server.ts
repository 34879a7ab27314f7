/**
 * The worker's HTTP endpoint for operators: `/metrics` (Prometheus text format), `/healthz`
 * (liveness) and `/readyz` (readiness); anything else is 404. Plain node:http: one small server per
 * worker process, no framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EhwError, toError } from "../common/errors.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import type { HealthReport } from "./health.js";

/** What `/metrics` serves. */
export interface MetricsSource {
  /** Prometheus text exposition. */
  text(): Promise<string>;
  /** Its content type. */
  readonly contentType: string;
}

/** What `/healthz` and `/readyz` serve. */
export interface HealthSource {
  liveness(): HealthReport;
  readiness(): Promise<HealthReport>;
}

/** Options of {@link startObservabilityServer}. */
export interface ObservabilityServerOptions {
  /** Interface to listen on; default "127.0.0.1". Containers use "0.0.0.0" so scrapers and probes reach it. */
  readonly host?: string;
  /** TCP port; 0 = a free port (see the returned `port`). */
  readonly port: number;
  /** Served at `/metrics`; without it `/metrics` is 404. */
  readonly metrics?: MetricsSource;
  /** Served at `/healthz` and `/readyz`; without it both are 404. */
  readonly health?: HealthSource;
  /** Logger; default silent. Logs under `component: "http"`. */
  readonly logger?: Logger;
}

/** A listening observability server. */
export interface ObservabilityServer {
  /** The bound host. */
  readonly host: string;
  /** The bound port (the chosen one when 0 was asked for). */
  readonly port: number;
  /** `http://<host>:<port>` (IPv6 hosts in brackets). */
  readonly url: string;
  /** Stops listening and closes open connections; idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the server and resolves once it listens. Rejects with an EhwError (code `LISTEN_FAILED`,
 * the node error as cause) when the port is taken or the host cannot be bound.
 */
export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const host = options.host ?? "127.0.0.1";
  const logger = (options.logger ?? silentLogger()).child({ component: "http" });
  const server = createServer((req, res) => {
    handle(req, res, options).catch((err: unknown) => {
      logger.warn({ err: toError(err), path: req.url }, "observability request failed");
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n");
      else res.destroy();
    });
  });
  // Probes and scrapers reconnect cheaply; idle keep-alive sockets would only delay close().
  server.keepAliveTimeout = 5000;
  await listen(server, host, options.port);
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new EhwError(
          "LISTEN_FAILED",
          `cannot listen on ${host}:${port} for metrics and health (${err.code})`,
          {
            cause: err,
            context: { host, port, code: err.code },
          },
        ),
      );
    };
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ObservabilityServerOptions,
): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  const route = routeOf(path, options);
  if (route === undefined) {
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    return;
  }
  if (route === "metrics" && options.metrics !== undefined) {
    const body = await options.metrics.text();
    send(res, 200, options.metrics.contentType, body, req.method === "HEAD");
    return;
  }
  if (options.health === undefined) return;
  const report = route === "healthz" ? options.health.liveness() : await options.health.readiness();
  const body = `${JSON.stringify({ status: report.status, reasons: report.reasons })}\n`;
  send(res, report.ok ? 200 : 503, "application/json; charset=utf-8", body, req.method === "HEAD");
}

function routeOf(
  path: string | undefined,
  options: ObservabilityServerOptions,
): "metrics" | "healthz" | "readyz" | undefined {
  if (path === "/metrics" && options.metrics !== undefined) return "metrics";
  if (path === "/healthz" && options.health !== undefined) return "healthz";
  if (path === "/readyz" && options.health !== undefined) return "readyz";
  return undefined;
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headOnly = false,
): void {
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(headOnly ? undefined : body);
}
