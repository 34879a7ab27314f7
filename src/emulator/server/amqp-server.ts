/**
 * The AMQP 1.0 listener: turns rhea container events into attach decisions, ingest, request
 * replies and reader streams, and tracks connections so faults and shutdown can end them.
 */
import type { AddressInfo, Server, Socket } from "node:net";
import rhea, { type Connection, type Delivery, type EventContext, type Receiver, type Sender } from "rhea";
import type { Logger } from "../../observability/logger.js";
import { EmulatorProtocolError } from "../errors.js";
import { ConnectionAuth } from "../services/cbs.js";
import type { HubRegistry } from "../services/hubs.js";
import { ReaderRegistry } from "../services/readers.js";
import { parseLinkAddress } from "./addresses.js";
import { type FrameGuard, guardSocket, MAX_FRAME_BYTES } from "./frame-guard.js";
import {
  addressPath,
  decodeIncoming,
  type IngestTarget,
  MAX_MESSAGE_SIZE_BYTES,
  prepareAttach,
  resolveIngest,
  resolveReader,
} from "./links.js";
import { listenOn } from "./listen.js";
import { ReaderLink } from "./reader-link.js";
import { answerRequest, ReplyLinks, type RequestNode } from "./requests.js";
import { TokenExpiryWatch } from "./token-expiry.js";
import { corkWhileProcessing, writeAllFields } from "./write-hooks.js";

/** Options of {@link AmqpServer.start}. */
export interface AmqpServerOptions {
  /** Listen host. */
  host: string;
  /** Listen port; 0 = any free port. */
  port: number;
  /** The namespace's hubs. */
  hubs: HubRegistry;
  /** SAS keys: key name → key. */
  keys: ReadonlyMap<string, string>;
  /** Injected reply/delivery latency in ms, read on every reply and delivery (admin fault). */
  latencyMs: () => number;
  /** Logger, scoped by the caller. */
  logger: Logger;
  /** Time a connection has to put a valid CBS token, ms; default 10000. */
  handshakeTimeoutMs?: number;
  /** An amqps listener besides the plain one, on the same host; default none. */
  tls?: AmqpTlsListener;
}

/** The amqps listener of {@link AmqpServerOptions}. */
export interface AmqpTlsListener {
  /** Port; 0 = any free port. */
  port: number;
  /** PEM private key. */
  key: string;
  /** PEM certificate (chain). */
  cert: string;
}

type LinkRole =
  | { kind: "request"; node: RequestNode }
  | { kind: "reply"; node: RequestNode }
  | { kind: "ingest"; target: IngestTarget }
  | { kind: "reader"; reader: ReaderLink; consumerGroup: string };

/** The running AMQP listener. */
export class AmqpServer {
  /** Attached readers (exposed for fault injection and health). */
  readonly readers = new ReaderRegistry();
  private readonly container = rhea.create_container({ autoaccept: false, id: "ehw-emulator" });
  private readonly auths = new WeakMap<Connection, ConnectionAuth>();
  private readonly roles = new WeakMap<Sender | Receiver, LinkRole>();
  private readonly connections = new Set<Connection>();
  private readonly sockets = new Set<Socket>();
  private readonly guards = new WeakMap<Socket, FrameGuard>();
  private readonly tokenExpiry = new TokenExpiryWatch((path) =>
    this.logger.info({ path }, "link detached: its token expired without renewal"),
  );
  private readonly replies: ReplyLinks;
  private readonly logger: Logger;
  private server: Server | undefined;
  private tlsServer: Server | undefined;
  private nextReaderId = 1;

  private constructor(private readonly options: AmqpServerOptions) {
    this.logger = options.logger;
    this.replies = new ReplyLinks(options.logger);
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: AmqpServerOptions): Promise<AmqpServer> {
    const server = new AmqpServer(options);
    server.wire();
    try {
      await server.listen();
    } catch (err) {
      await server.close();
      throw err;
    }
    server.tokenExpiry.start();
    return server;
  }

  /** The bound port. */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The bound amqps port, or undefined without a TLS listener. */
  get tlsPort(): number | undefined {
    return this.tlsServer === undefined ? undefined : (this.tlsServer.address() as AddressInfo | null)?.port;
  }

  /** Number of open client connections. */
  connectionCount(): number {
    return this.connections.size;
  }

  /** Closes every client connection and its socket at once (admin fault). Returns how many. */
  dropConnections(): number {
    const n = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    return n;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.tokenExpiry.stop();
    this.readers.detachAll("amqp:connection:forced", "the emulator is shutting down");
    for (const connection of this.connections) {
      connection.close({ condition: "amqp:connection:forced", description: "the emulator is shutting down" });
    }
    const servers = [this.server, this.tlsServer].filter((server) => server !== undefined);
    this.server = undefined;
    this.tlsServer = undefined;
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Give the close frames a moment on the wire, then cut what is left.
            setTimeout(() => {
              for (const socket of this.sockets) socket.destroy();
            }, 50).unref();
          }),
      ),
    );
  }

  private async listen(): Promise<void> {
    const common = {
      host: this.options.host,
      tcp_no_delay: true,
      // What the service advertises; the frame guard closes connections that send more.
      max_frame_size: MAX_FRAME_BYTES,
    };
    const onSocket = (socket: Socket) => this.onSocket(socket);
    this.server = await listenOn(this.container, { ...common, port: this.options.port }, "--port", onSocket);
    const tls = this.options.tls;
    if (tls !== undefined) {
      // The guard reads frame sizes, so it watches the TLS socket's plaintext, not the TCP one.
      const options = { ...common, port: tls.port, transport: "tls" as const, key: tls.key, cert: tls.cert };
      this.tlsServer = await listenOn(this.container, options, "--tls-port", onSocket);
    }
  }

  private onSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const guard = guardSocket(socket, {
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      onViolation: (violation) =>
        this.logger.warn({ remote, ...violation }, "connection closed by the frame guard"),
    });
    this.guards.set(socket, guard);
  }

  private wire(): void {
    const c = this.container;
    c.on("connection_open", (ctx: EventContext) => this.onConnectionOpen(ctx.connection));
    c.on("connection_close", (ctx: EventContext) => this.onConnectionGone(ctx.connection));
    c.on("disconnected", (ctx: EventContext) => this.onConnectionGone(ctx.connection));
    c.on("connection_error", (ctx: EventContext) =>
      this.logger.debug({ error: ctx.connection.error }, "connection error"),
    );
    c.on("protocol_error", (err: unknown) => this.logger.warn({ err }, "AMQP protocol error"));
    c.on("error", (err: unknown) => this.logger.warn({ err }, "AMQP error"));
    c.on("receiver_open", (ctx: EventContext) => this.guard(ctx.receiver, () => this.onReceiverOpen(ctx)));
    c.on("sender_open", (ctx: EventContext) => this.guard(ctx.sender, () => this.onSenderOpen(ctx)));
    c.on("message", (ctx: EventContext) => this.onMessage(ctx));
    c.on("sendable", (ctx: EventContext) => this.onSendable(ctx));
    c.on("sender_draining", (ctx: EventContext) => {
      this.onSendable(ctx);
      // Whatever credit is left after delivering all there is, the client asked to give back.
      (ctx.sender as Sender).set_drained(true);
    });
    c.on("sender_close", (ctx: EventContext) => this.onLinkGone(ctx.sender));
    c.on("receiver_close", (ctx: EventContext) => this.onLinkGone(ctx.receiver));
    c.on("sender_error", (ctx: EventContext) => this.onLinkGone(ctx.sender));
    c.on("receiver_error", (ctx: EventContext) => this.onLinkGone(ctx.receiver));
    // rhea re-emits session errors on the container when unhandled; a client ending a session
    // with an error is the client's business.
    c.on("session_error", (ctx: EventContext) =>
      this.logger.debug({ error: ctx.session?.error }, "session error"),
    );
  }

  private onConnectionOpen(connection: Connection): void {
    this.connections.add(connection);
    corkWhileProcessing(connection);
    writeAllFields(connection);
    this.auths.set(connection, new ConnectionAuth(this.options.keys));
    this.logger.debug({ connections: this.connections.size }, "connection opened");
  }

  private onConnectionGone(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    // Readers of a dropped connection never see a detach: stop and forget them here.
    for (const session of Object.values(
      (connection as unknown as { local_channel_map: object }).local_channel_map ?? {},
    )) {
      for (const link of Object.values((session as { links?: object }).links ?? {}))
        this.onLinkGone(link as Sender);
    }
    this.logger.debug({ connections: this.connections.size }, "connection closed");
  }

  private authOf(connection: Connection): ConnectionAuth {
    let auth = this.auths.get(connection);
    if (!auth) {
      auth = new ConnectionAuth(this.options.keys);
      this.auths.set(connection, auth);
    }
    return auth;
  }

  /** Runs an attach handler; a protocol refusal detaches the link with its condition. */
  private guard(link: Sender | Receiver | undefined, attach: () => void): void {
    if (!link) return;
    try {
      attach();
    } catch (err) {
      prepareAttach(link);
      if (err instanceof EmulatorProtocolError) {
        this.logger.debug(
          { condition: err.condition, address: link.source?.address ?? link.target?.address },
          "link refused",
        );
        link.close({ condition: err.condition, description: err.message });
        return;
      }
      this.logger.error({ err }, "link attach failed");
      link.close({ condition: "amqp:internal-error", description: "internal error in the emulator" });
    }
  }

  private onReceiverOpen(ctx: EventContext): void {
    const receiver = ctx.receiver as Receiver;
    const address = receiver.target?.address;
    const parsed = parseLinkAddress(address);
    if (parsed.kind === "cbs" || parsed.kind === "management") {
      prepareAttach(receiver);
      this.roles.set(receiver, { kind: "request", node: parsed.kind });
      return;
    }
    const auth = this.authOf(ctx.connection);
    const target = resolveIngest(address, this.options.hubs, auth);
    prepareAttach(receiver, MAX_MESSAGE_SIZE_BYTES);
    this.roles.set(receiver, { kind: "ingest", target });
    this.tokenExpiry.watch(receiver, auth, addressPath(address));
  }

  private onSenderOpen(ctx: EventContext): void {
    const sender = ctx.sender as Sender;
    const parsed = parseLinkAddress(sender.source?.address);
    if (parsed.kind === "cbs" || parsed.kind === "management") {
      prepareAttach(sender);
      this.roles.set(sender, { kind: "reply", node: parsed.kind });
      this.replies.register(parsed.kind, sender);
      return;
    }
    const auth = this.authOf(ctx.connection);
    const request = resolveReader(sender, this.options.hubs, auth);
    this.tokenExpiry.watch(sender, auth, addressPath(sender.source?.address));
    const log = request.hub.partitions[request.partitionIndex];
    if (!log) throw new EmulatorProtocolError("amqp:not-found", `partition ${request.partitionId} not found`);
    const startSequenceNumber = log.resolve(request.startPosition);
    const id = this.nextReaderId++;
    const reader = new ReaderLink(sender, log, {
      id,
      hub: request.hub.name,
      partitionId: request.partitionId,
      epoch: request.epoch,
      startSequenceNumber,
      runtimeMetric: request.runtimeMetric,
      latencyMs: this.options.latencyMs,
      logger: this.logger.child({ readerId: id, hub: request.hub.name, partitionId: request.partitionId }),
    });
    this.readers.admit(reader, request.consumerGroup);
    prepareAttach(sender);
    // Events go out pre-settled: the log is the source of truth and a reader resumes by position,
    // so per-delivery dispositions would only cost frames and hold the session's delivery buffer.
    (sender as unknown as { local: { attach: { snd_settle_mode: number } } }).local.attach.snd_settle_mode =
      1;
    this.roles.set(sender, { kind: "reader", reader, consumerGroup: request.consumerGroup });
    reader.start();
  }

  private onSendable(ctx: EventContext): void {
    const sender = ctx.sender as Sender;
    const role = this.roles.get(sender);
    if (role?.kind === "reader") role.reader.pump();
    else if (role?.kind === "reply") this.replies.flush(sender);
  }

  private onLinkGone(link: Sender | Receiver | undefined): void {
    if (!link) return;
    this.tokenExpiry.forget(link);
    const role = this.roles.get(link);
    if (role?.kind !== "reader") return;
    role.reader.stop();
    this.readers.remove(role.reader, role.consumerGroup);
    this.roles.delete(link);
  }

  private onMessage(ctx: EventContext): void {
    const receiver = ctx.receiver as Receiver;
    const delivery = ctx.delivery as Delivery;
    const role = this.roles.get(receiver);
    if (role?.kind === "request") {
      const reply = answerRequest(role.node, ctx.message as never, {
        auth: this.authOf(ctx.connection),
        hubs: this.options.hubs,
      });
      const { refusal, ...sent } = reply;
      if (role.node === "cbs" && reply.statusCode === 202) {
        const socket = (ctx.connection as unknown as { socket?: Socket }).socket;
        if (socket !== undefined) this.guards.get(socket)?.authenticated();
      }
      if (refusal !== undefined) this.logger.warn({ node: role.node, reason: refusal }, "token refused");
      this.settle(() => {
        delivery.accept();
        this.replies.send(role.node, receiver.session, ctx.message as never, sent);
      });
      return;
    }
    if (role?.kind !== "ingest") {
      delivery.reject({ condition: "amqp:illegal-state", description: "this link does not accept messages" });
      return;
    }
    try {
      this.ingest(role.target, ctx.message as never, (ctx as { format?: number }).format);
      this.settle(() => delivery.accept());
    } catch (err) {
      const condition = err instanceof EmulatorProtocolError ? err.condition : "amqp:internal-error";
      if (!(err instanceof EmulatorProtocolError)) this.logger.error({ err }, "ingest failed");
      const description = err instanceof Error ? err.message : "internal error";
      this.settle(() => delivery.reject({ condition, description }));
    }
  }

  private ingest(target: IngestTarget, message: Buffer, format: number | undefined): void {
    const incoming = decodeIncoming(message, format);
    const index = target.partitionIndex ?? target.hub.pickPartition(incoming.partitionKey);
    const log = target.hub.partitions[index];
    if (!log) throw new EmulatorProtocolError("amqp:not-found", `partition ${index} not found`);
    const partitionKey = incoming.partitionKey;
    log.append(
      incoming.events.map((event) =>
        partitionKey === undefined ? { message: event } : { message: event, partitionKey },
      ),
    );
  }

  /** Runs a settlement/reply now, or after the injected latency. */
  private settle(action: () => void): void {
    const latency = this.options.latencyMs();
    if (latency > 0) setTimeout(action, latency).unref();
    else action();
  }
}
