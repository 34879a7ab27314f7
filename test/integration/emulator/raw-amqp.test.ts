/**
 * Wire-level checks with a bare rhea client, for what the SDK never does on its own: links without
 * a token, expired tokens, plain (format 0) single messages, and exact credit accounting.
 */
import { EventHubProducerClient } from "@azure/event-hubs";
import rhea, { type Connection, type EventContext, type Message, type Receiver, type Sender } from "rhea";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { signSas } from "../../../src/emulator/auth/sas.js";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { Closer, FAST_RETRY, freshHub, startTestEmulator } from "./harness.js";

describe("emulator wire behaviour (bare AMQP client)", () => {
  let emulator: EmulatorServer;
  const closer = new Closer();
  const connections: Connection[] = [];

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterEach(async () => {
    for (const c of connections.splice(0)) c.close();
    await closer.closeAll();
  });
  afterAll(() => emulator.close());

  async function connect(): Promise<Connection> {
    const container = rhea.create_container({ id: "raw-test" });
    const connection = container.connect({ host: "127.0.0.1", port: emulator.amqpPort, reconnect: false });
    connections.push(connection);
    await new Promise<void>((resolve, reject) => {
      connection.once("connection_open", () => resolve());
      connection.once("connection_error", (ctx: EventContext) => reject(ctx.connection.error));
    });
    return connection;
  }

  function token(
    audience: string,
    expiresAtSec = Math.floor(Date.now() / 1000) + 3600,
    key = emulator.config.key,
  ): string {
    return signSas({ audience, keyName: emulator.config.keyName, key, expiresAtSec });
  }

  /** Puts a token on $cbs and returns the reply's status code. */
  async function putToken(
    connection: Connection,
    audience: string,
    tokenText: string,
    type = "servicebus.windows.net:sastoken",
  ): Promise<unknown> {
    const sender = connection.open_sender({ target: { address: "$cbs" } });
    const receiver = connection.open_receiver({ source: { address: "$cbs" } });
    await Promise.all([opened(sender, "sender_open"), opened(receiver, "receiver_open")]);
    const reply = new Promise<Message>((resolve) =>
      receiver.once("message", (ctx: EventContext) => resolve(ctx.message as Message)),
    );
    sender.send({
      message_id: "req-1",
      reply_to: "cbs",
      body: tokenText,
      application_properties: {
        operation: "put-token",
        name: audience,
        type,
      },
    });
    const message = await reply;
    expect(message.correlation_id).toBe("req-1");
    return message.application_properties?.["status-code"];
  }

  function opened(link: Sender | Receiver, event: string): Promise<void> {
    return new Promise((resolve) => link.once(event, () => resolve()));
  }

  /** Resolves with the detach error condition, or "open" when the link opened and stayed open. */
  function attachOutcome(link: Sender | Receiver, openEvent: string, closeEvent: string): Promise<string> {
    return new Promise((resolve) => {
      link.once(closeEvent, () =>
        resolve(String((link.error as { condition?: string } | undefined)?.condition)),
      );
      link.once(openEvent, () => {
        // A refused link is attached and detached at once: wait a turn for the detach.
        setImmediate(() => {
          if (link.is_open()) resolve("open");
        });
      });
    });
  }

  it("accepts a good token (202) and answers a bad signature or an expired token with 401", async () => {
    const hub = freshHub(emulator, 1);
    const connection = await connect();
    const audience = `sb://127.0.0.1:${emulator.amqpPort}/${hub}`;
    expect(await putToken(connection, audience, token(audience))).toBe(202);
    const other = await connect();
    expect(await putToken(other, audience, token(audience, undefined, "wrong-key"))).toBe(401);
    const third = await connect();
    expect(await putToken(third, audience, token(audience, Math.floor(Date.now() / 1000) - 10))).toBe(401);
  });

  it("accepts a SAS token put with type jwt (the Python SDK's) and opens links with it", async () => {
    const hub = freshHub(emulator, 1);
    const connection = await connect();
    const audience = `sb://127.0.0.1:${emulator.amqpPort}/${hub}`;
    expect(await putToken(connection, audience, token(audience), "jwt")).toBe(202);
    const sender = connection.open_sender({ target: { address: `${hub}/Partitions/0` } });
    expect(await attachOutcome(sender, "sendable", "sender_close")).toBe("open");
    const other = await connect();
    expect(await putToken(other, audience, token(audience, undefined, "wrong-key"), "jwt")).toBe(401);
  });

  it("refuses links without a token covering their address with amqp:unauthorized-access", async () => {
    const hub = freshHub(emulator, 1);
    const other = freshHub(emulator, 1);
    const connection = await connect();
    const noToken = connection.open_sender({ target: { address: hub } });
    expect(await attachOutcome(noToken, "sendable", "sender_close")).toBe("amqp:unauthorized-access");
    const audience = `sb://127.0.0.1:${emulator.amqpPort}/${hub}`;
    expect(await putToken(connection, audience, token(audience))).toBe(202);
    const reader = connection.open_receiver({
      source: { address: `${other}/ConsumerGroups/$Default/Partitions/0` },
      credit_window: 0,
    });
    expect(await attachOutcome(reader, "receiver_open", "receiver_close")).toBe("amqp:unauthorized-access");
    const allowed = connection.open_sender({ target: { address: `${hub}/Partitions/0` } });
    expect(await attachOutcome(allowed, "sendable", "sender_close")).toBe("open");
  });

  it("detaches sending and receiving links whose token expired without renewal", async () => {
    const hub = freshHub(emulator, 1);
    const connection = await connect();
    const audience = `sb://127.0.0.1:${emulator.amqpPort}/${hub}`;
    const expiresAtSec = Math.floor(Date.now() / 1000) + 2;
    expect(await putToken(connection, audience, token(audience, expiresAtSec))).toBe(202);
    const sender = connection.open_sender({ target: { address: `${hub}/Partitions/0` } });
    const reader = connection.open_receiver({
      source: { address: `${hub}/ConsumerGroups/$Default/Partitions/0` },
      credit_window: 0,
    });
    await Promise.all([opened(sender, "sendable"), opened(reader, "receiver_open")]);
    const closed = (link: Sender | Receiver, event: string) =>
      new Promise<{ condition: string; atSec: number }>((resolve) =>
        link.once(event, () =>
          resolve({
            condition: String((link.error as { condition?: string } | undefined)?.condition),
            atSec: Date.now() / 1000,
          }),
        ),
      );
    const [senderClosed, readerClosed] = await Promise.all([
      closed(sender, "sender_close"),
      closed(reader, "receiver_close"),
    ]);
    for (const outcome of [senderClosed, readerClosed]) {
      expect(outcome.condition).toBe("amqp:unauthorized-access");
      // Not before the token lapsed, and within a sweep or two after.
      expect(outcome.atSec).toBeGreaterThanOrEqual(expiresAtSec);
      expect(outcome.atSec).toBeLessThan(expiresAtSec + 3);
    }
  });

  it("stores a plain single message, delivers it with service annotations, and respects credit exactly", async () => {
    const hub = freshHub(emulator, 1);
    const connection = await connect();
    const audience = `sb://127.0.0.1:${emulator.amqpPort}/${hub}`;
    expect(await putToken(connection, audience, token(audience))).toBe(202);
    const sender = connection.open_sender({ target: { address: hub } });
    await opened(sender, "sendable");
    const accepted = new Promise<void>((resolve) => sender.once("accepted", () => resolve()));
    sender.send({
      body: "plain",
      application_properties: { kind: "single" },
      message_annotations: { "x-opt-partition-key": "pk" },
    });
    await accepted;
    const producer = closer.add(
      new EventHubProducerClient(emulator.connectionString(), hub, { retryOptions: FAST_RETRY }),
    );
    await producer.sendBatch(
      Array.from({ length: 19 }, (_, i) => ({ body: i })),
      { partitionId: "0" },
    );

    const receiver = connection.open_receiver({
      source: { address: `${hub}/ConsumerGroups/$Default/Partitions/0` },
      credit_window: 0,
      autoaccept: true,
    });
    const messages: Message[] = [];
    let granted = 0;
    let overrun = false;
    receiver.on("message", (ctx: EventContext) => {
      messages.push(ctx.message as Message);
      if (messages.length > granted) overrun = true;
    });
    await opened(receiver, "receiver_open");
    granted = 7;
    receiver.add_credit(7);
    await waitFor(() => messages.length >= 7, { what: "7 messages" });
    // A request round trip on the same connection is a barrier: a delivery past the credit would
    // have been written before the reply.
    expect(await putToken(connection, audience, token(audience))).toBe(202);
    expect(messages.length).toBe(7);
    granted = 100;
    receiver.add_credit(93);
    await waitFor(() => messages.length >= 20, { what: "the rest" });
    expect(overrun).toBe(false);

    const first = messages[0] as Message;
    expect(first.body).toBe("plain");
    expect(first.application_properties).toEqual({ kind: "single" });
    expect(first.message_annotations?.["x-opt-sequence-number"]).toBe(0);
    expect(first.message_annotations?.["x-opt-offset"]).toBe("0");
    expect(first.message_annotations?.["x-opt-enqueued-time"]).toBeInstanceOf(Date);
    expect(first.message_annotations?.["x-opt-partition-key"]).toBe("pk");
    expect(first.delivery_annotations).toBeUndefined();
    expect(messages.map((m) => m.message_annotations?.["x-opt-sequence-number"])).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  }, 30_000);
});
