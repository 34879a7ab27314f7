/**
 * Request/response nodes (`$cbs`, `$management`): decode a request, hand it to the service, and
 * send the reply on the sender link the client attached for replies in the same session.
 */
import type { Message, Sender, Session } from "rhea";
import type { Logger } from "../../observability/logger.js";
import { EmulatorProtocolError } from "../errors.js";
import { type ConnectionAuth, UNAUTHORIZED } from "../services/cbs.js";
import type { HubRegistry } from "../services/hubs.js";
import { managementResource, readEntity } from "../services/management.js";

/** The request/response nodes. */
export type RequestNode = "cbs" | "management";

/** A reply to send. */
export interface Reply {
  /** `status-code` application property. */
  statusCode: number;
  /** `status-description` application property. */
  statusDescription: string;
  /** `error-condition` application property, for failures. */
  errorCondition?: string;
  /** Body (management READ result). */
  body?: unknown;
  /** Why a token was refused; logged by the server, never sent. */
  refusal?: string;
}

/** Maps an AMQP condition to the HTTP-like status the service puts on replies. */
export function statusForCondition(condition: string): number {
  switch (condition) {
    case "amqp:not-found":
      return 404;
    case "amqp:unauthorized-access":
      return 401;
    case "amqp:not-implemented":
      return 501;
    case "amqp:invalid-field":
    case "amqp:decode-error":
      return 400;
    default:
      return 500;
  }
}

/** Computes the reply to one request on `node`. */
export function answerRequest(
  node: RequestNode,
  message: Message,
  deps: { auth: ConnectionAuth; hubs: HubRegistry },
): Reply {
  const props = (message.application_properties ?? {}) as Record<string, unknown>;
  if (node === "cbs") {
    return deps.auth.putToken({
      operation: props.operation,
      type: props.type,
      name: props.name,
      token: message.body,
    });
  }
  const request = {
    operation: props.operation,
    name: props.name,
    type: props.type,
    partition: props.partition,
  };
  const resource = `${managementResource(request)}/$management`;
  if (!deps.auth.tokenCovers(props.security_token, resource) && !deps.auth.covers(resource)) {
    return {
      statusCode: 401,
      statusDescription: UNAUTHORIZED,
      refusal: "no valid token covers this management request",
      errorCondition: "amqp:unauthorized-access",
    };
  }
  try {
    return { statusCode: 200, statusDescription: "OK", body: readEntity(deps.hubs, request) };
  } catch (err) {
    if (!(err instanceof EmulatorProtocolError)) throw err;
    return {
      statusCode: statusForCondition(err.condition),
      statusDescription: err.message,
      errorCondition: err.condition,
    };
  }
}

/** The sender links clients attached to receive replies, per session and node. */
export class ReplyLinks {
  private readonly bySession = new WeakMap<Session, Map<RequestNode, Sender>>();
  private readonly pending = new WeakMap<Sender, Message[]>();

  constructor(private readonly logger: Logger) {}

  /** Registers `sender` as the reply link of `node` in its session. */
  register(node: RequestNode, sender: Sender): void {
    const links = this.bySession.get(sender.session) ?? new Map<RequestNode, Sender>();
    links.set(node, sender);
    this.bySession.set(sender.session, links);
  }

  /** Sends replies held back for lack of credit. */
  flush(sender: Sender): void {
    const queue = this.pending.get(sender);
    while (queue && queue.length > 0 && sender.sendable()) {
      const next = queue.shift();
      if (next) sender.send(next);
    }
  }

  /** Sends `reply` to the request `request` that arrived in `session`. */
  send(node: RequestNode, session: Session, request: Message, reply: Reply): void {
    const sender = this.bySession.get(session)?.get(node);
    if (!sender || sender.is_closed()) {
      this.logger.warn({ node }, "no reply link for a request; dropping the reply");
      return;
    }
    const application_properties: Record<string, unknown> = {
      "status-code": reply.statusCode,
      "status-description": reply.statusDescription,
    };
    if (reply.errorCondition !== undefined) application_properties["error-condition"] = reply.errorCondition;
    const message: Message = {
      correlation_id: request.message_id,
      to: request.reply_to,
      application_properties,
      body: reply.body,
    };
    const queue = this.pending.get(sender) ?? [];
    queue.push(message);
    this.pending.set(sender, queue);
    this.flush(sender);
  }
}
