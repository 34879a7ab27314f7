/**
 * Shared access signatures as Event Hubs issues and checks them. The token format is the one
 * @azure/core-amqp builds for a connection string with a key:
 * `SharedAccessSignature sr=<url-encoded audience>&sig=<url-encoded base64 HMAC-SHA256>&se=<expiry>&skn=<key name>`,
 * where the HMAC is taken with the key's UTF-8 text (not its base64 decoding) over `"<sr>\n<se>"`
 * and `<sr>` is the audience exactly as it appears in the token, i.e. still URL-encoded.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const TOKEN_PREFIX = "SharedAccessSignature ";
const REQUIRED_FIELDS = ["sr", "sig", "se", "skn"] as const;

/** Input of {@link signSas}. */
export interface SignSasOptions {
  /** The resource the token grants access to, e.g. `sb://127.0.0.1:5672/hub` (not yet URL-encoded). */
  audience: string;
  /** The shared access key name (`SharedAccessKeyName`). */
  keyName: string;
  /** The shared access key (`SharedAccessKey`), used as UTF-8 text. */
  key: string;
  /** Expiry as Unix time, in seconds. */
  expiresAtSec: number;
}

/** Builds a SAS token in the format the Event Hubs SDK sends on `$cbs`. */
export function signSas(opts: SignSasOptions): string {
  const sr = encodeURIComponent(opts.audience);
  const se = String(Math.floor(opts.expiresAtSec));
  const sig = encodeURIComponent(hmacBase64(opts.key, `${sr}\n${se}`));
  return `${TOKEN_PREFIX}sr=${sr}&sig=${sig}&se=${se}&skn=${encodeURIComponent(opts.keyName)}`;
}

/** Outcome of {@link verifySas}: the token's claims, or a human-readable reason for refusing it. */
export type SasCheck =
  | { ok: true; audience: string; keyName: string; expiresAtSec: number }
  | { ok: false; reason: string };

/**
 * Verifies a SAS token against the configured keys (key name → key) at Unix time `nowSec`
 * (seconds). Reasons: "malformed token", "unknown key name", "bad signature", "expired".
 * The signature is checked before the expiry so that a forged token learns nothing about time.
 */
export function verifySas(token: string, keys: ReadonlyMap<string, string>, nowSec: number): SasCheck {
  const fields = parseToken(token);
  if (fields === undefined) return { ok: false, reason: "malformed token" };
  const audience = safeDecode(fields.sr);
  const keyName = safeDecode(fields.skn);
  const sig = safeDecode(fields.sig);
  if (audience === undefined || keyName === undefined || sig === undefined || !/^\d+$/.test(fields.se)) {
    return { ok: false, reason: "malformed token" };
  }
  const key = keys.get(keyName);
  if (key === undefined) return { ok: false, reason: "unknown key name" };
  const expected = createHmac("sha256", key).update(`${fields.sr}\n${fields.se}`).digest();
  const given = Buffer.from(sig, "base64");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad signature" };
  }
  const expiresAtSec = Number(fields.se);
  if (expiresAtSec <= nowSec) return { ok: false, reason: "expired" };
  return { ok: true, audience, keyName, expiresAtSec };
}

/**
 * True when a token issued for `tokenAudience` grants access to `resource` (a link address or an
 * audience): the same path, or a path below it at a "/" boundary, compared case-insensitively with
 * scheme (sb://, amqp://, amqps://) and host:port ignored. A namespace-wide token (empty path)
 * covers everything; a token for hub `a` does not cover hub `ab`.
 */
export function audienceCovers(tokenAudience: string, resource: string): boolean {
  const granted = resourcePath(tokenAudience);
  const wanted = resourcePath(resource);
  if (granted === "") return true;
  return wanted === granted || wanted.startsWith(`${granted}/`);
}

function hmacBase64(key: string, text: string): string {
  return createHmac("sha256", key).update(text).digest("base64");
}

type TokenFields = Record<(typeof REQUIRED_FIELDS)[number], string>;

function parseToken(token: string): TokenFields | undefined {
  const trimmed = token.trim();
  if (!trimmed.startsWith(TOKEN_PREFIX)) return undefined;
  const found = new Map<string, string>();
  for (const part of trimmed.slice(TOKEN_PREFIX.length).trim().split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq);
    // A repeated field makes the token ambiguous: which one was signed?
    if (found.has(name)) return undefined;
    found.set(name, part.slice(eq + 1));
  }
  const fields: Partial<TokenFields> = {};
  for (const name of REQUIRED_FIELDS) {
    const value = found.get(name);
    if (value === undefined || value === "") return undefined;
    fields[name] = value;
  }
  return fields as TokenFields;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The lower-cased path of an audience or address: no scheme, no host:port, no query, no edge slashes. */
function resourcePath(value: string): string {
  let rest = value.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) {
    rest = rest.slice(scheme[0].length);
    const slash = rest.indexOf("/");
    rest = slash < 0 ? "" : rest.slice(slash);
  }
  const query = rest.indexOf("?");
  if (query >= 0) rest = rest.slice(0, query);
  const decoded = safeDecode(rest) ?? rest;
  return decoded.replace(/^\/+|\/+$/g, "").toLowerCase();
}
