import { request } from "node:http";

/**
 * Sends one HTTP request without keep-alive and resolves with the status code; rejects when no
 * response arrives (refused, reset, or `timeoutMs` passed, default 2000). The body is discarded.
 */
export function httpStatus(
  url: string,
  options: { method?: string; timeoutMs?: number; body?: string } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    // The emulator's admin endpoint takes POST and PUT only as JSON, with or without a body.
    if (options.body !== undefined || options.method === "POST" || options.method === "PUT") {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(options.body ?? ""));
    }
    const req = request(url, { method: options.method ?? "GET", agent: false, headers }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
      res.once("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 2_000, () => {
      req.destroy(new Error(`no HTTP response from ${url} within ${options.timeoutMs ?? 2_000} ms`));
    });
    req.once("error", reject);
    req.end(options.body);
  });
}
