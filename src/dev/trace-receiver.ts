/**
 * A loopback OTLP/HTTP receiver for `ehw dev --tracing`: the dev workers export their spans with
 * the ordinary OTLP/HTTP exporter (JSON encoding, optionally gzip) to `POST /v1/traces` here,
 * exactly as they would to a collector, and each request's spans go to `onSpans`. It answers as
 * the OTLP/HTTP specification says: 200 with an empty ExportTraceServiceResponse, 400 for a body
 * it cannot read, 415 for protobuf (which this exporter never sends), 404 / 405 otherwise.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { EhwError, toError } from "../common/errors.js";
import { spansOfOtlpJson } from "./otlp-json.js";
import type { SpanRecord } from "./trace-summary.js";

const gunzipAsync = promisify(gunzip);

/** The path OTLP/HTTP exporters post traces to. */
export const TRACES_PATH = "/v1/traces";

/** Options of {@link startTraceReceiver}. */
export interface TraceReceiverOptions {
  /** Called with the spans of each accepted request. */
  readonly onSpans: (spans: SpanRecord[]) => void;
  /** Called with what was wrong with a refused request (for the stack log). */
  readonly onRefused?: (problem: string) => void;
  /** Port on 127.0.0.1; default 0 = any free port. */
  readonly port?: number;
  /** Largest request body accepted, bytes (after gunzip); default 16 MiB. */
  readonly maxBodyBytes?: number;
}

/** A running receiver. */
export interface TraceReceiver {
  /** `http://127.0.0.1:<port>/v1/traces`: the OTEL_EXPORTER_OTLP_TRACES_ENDPOINT of the workers. */
  readonly tracesUrl: string;
  /** Requests refused so far (bad body, wrong type or path). */
  readonly refused: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Refusal(413, `request body over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const encoding = (request.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding === "identity") return body;
  if (encoding !== "gzip") throw new Refusal(415, `content-encoding ${encoding} (send identity or gzip)`);
  const plain = await gunzipAsync(body, { maxOutputLength: maxBytes }).catch((err: unknown) => {
    throw new Refusal(400, `gzip body does not decompress: ${toError(err).message}`);
  });
  return plain;
}

async function accept(request: IncomingMessage, maxBytes: number): Promise<SpanRecord[]> {
  const path = (request.url ?? "").split("?")[0];
  if (path !== TRACES_PATH) throw new Refusal(404, `no ${path}; traces go to ${TRACES_PATH}`);
  if (request.method !== "POST") throw new Refusal(405, `${request.method} ${TRACES_PATH}; use POST`);
  const type = (request.headers["content-type"] ?? "").toLowerCase();
  if (!type.startsWith("application/json")) {
    throw new Refusal(
      415,
      `content-type ${type || "(none)"}; this receiver takes OTLP/HTTP JSON (application/json)`,
    );
  }
  const body = await readBody(request, maxBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new Refusal(400, `body is not JSON: ${toError(err).message}`);
  }
  try {
    return spansOfOtlpJson(parsed);
  } catch (err) {
    if (err instanceof EhwError) throw new Refusal(400, err.message);
    throw err;
  }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/** Starts the receiver on 127.0.0.1; resolves once it listens. */
export async function startTraceReceiver(options: TraceReceiverOptions): Promise<TraceReceiver> {
  const maxBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  let refused = 0;
  const server = createServer((request, response) => {
    accept(request, maxBytes).then(
      (spans) => {
        options.onSpans(spans);
        reply(response, 200, {});
      },
      (err: unknown) => {
        refused++;
        const status = err instanceof Refusal ? err.status : 500;
        const message = toError(err).message;
        options.onRefused?.(message);
        // google.rpc.Status in JSON: code 3 = INVALID_ARGUMENT, 13 = INTERNAL.
        reply(response, status, { code: status === 500 ? 13 : 3, message });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    tracesUrl: `http://127.0.0.1:${port}${TRACES_PATH}`,
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
