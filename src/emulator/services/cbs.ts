/**
 * Claims-based security: put-token requests on `$cbs` and the per-connection set of tokens that
 * link attaches are checked against.
 */
import { audienceCovers, verifySas } from "../auth/sas.js";

/** Token type the SDK sends for SAS tokens. */
export const SAS_TOKEN_TYPE = "servicebus.windows.net:sastoken";
/**
 * Token type the Python SDK (azure-eventhub 5.x, pure-Python AMQP) sends for every token, a SAS
 * one included; the service accepts a SharedAccessSignature under it too (issue 18).
 */
export const JWT_TOKEN_TYPE = "jwt";
/** Token types a put-token may carry; either way the body must be a valid SAS token. */
export const TOKEN_TYPES: readonly string[] = [SAS_TOKEN_TYPE, JWT_TOKEN_TYPE];

/** A put-token request as the transport decoded it. */
export interface PutTokenRequest {
  /** `operation` application property; must be "put-token". */
  operation: unknown;
  /** `type` application property. */
  type: unknown;
  /** `name` application property: the audience. */
  name: unknown;
  /** The message body: the token. */
  token: unknown;
}

/** Reply to a CBS request. */
export interface CbsReply {
  /** HTTP-like status code (200/202 accepted, 400 bad request, 401 refused). */
  statusCode: number;
  /** Human-readable status. */
  statusDescription: string;
  /**
   * Why a token was refused, for the emulator's own log only: the wire says just "Unauthorized",
   * so that a client probing keys learns nothing about which part of its token failed.
   */
  refusal?: string;
}

/** The status description of every refused token. */
export const UNAUTHORIZED = "Unauthorized";

interface Grant {
  audience: string;
  expiresAtSec: number;
}

/** The tokens one connection has put; tokens never outlive their connection. */
export class ConnectionAuth {
  private readonly grants: Grant[] = [];

  constructor(
    private readonly keys: ReadonlyMap<string, string>,
    private readonly nowSec: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Handles a put-token request: verifies the token and, when good, remembers the grant. */
  putToken(request: PutTokenRequest): CbsReply {
    if (request.operation !== "put-token") {
      return {
        statusCode: 400,
        statusDescription: `unsupported CBS operation '${String(request.operation)}'`,
      };
    }
    if (typeof request.type !== "string" || !TOKEN_TYPES.includes(request.type)) {
      return {
        statusCode: 400,
        statusDescription: `unsupported token type '${String(request.type)}'; use ${TOKEN_TYPES.join(" or ")} with a SharedAccessSignature`,
      };
    }
    if (typeof request.token !== "string" || typeof request.name !== "string") {
      return { statusCode: 400, statusDescription: "put-token needs a string token body and a string name" };
    }
    const check = verifySas(request.token, this.keys, this.nowSec());
    if (!check.ok) return { statusCode: 401, statusDescription: UNAUTHORIZED, refusal: check.reason };
    if (!audienceCovers(check.audience, request.name)) {
      return {
        statusCode: 401,
        statusDescription: UNAUTHORIZED,
        refusal: `the token's audience ${check.audience} does not cover ${request.name}`,
      };
    }
    const existing = this.grants.findIndex((g) => g.audience === check.audience);
    if (existing >= 0) this.grants.splice(existing, 1);
    this.grants.push({ audience: check.audience, expiresAtSec: check.expiresAtSec });
    return { statusCode: 202, statusDescription: "Accepted" };
  }

  /** Whether an unexpired token on this connection covers `resource` (an address path). */
  covers(resource: string): boolean {
    const now = this.nowSec();
    return this.grants.some((g) => g.expiresAtSec > now && audienceCovers(g.audience, resource));
  }

  /** Whether `token` (a management request's `security_token`) is valid and covers `resource`. */
  tokenCovers(token: unknown, resource: string): boolean {
    if (typeof token !== "string") return false;
    const check = verifySas(token, this.keys, this.nowSec());
    return check.ok && audienceCovers(check.audience, resource);
  }
}
