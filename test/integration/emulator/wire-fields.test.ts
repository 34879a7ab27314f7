/**
 * Every performative the emulator sends carries every field of its list, as the service's
 * Microsoft.Azure.Amqp encodes them (issue 18): clients such as the Python SDK read fields by
 * position and break on the short lists AMQP allows. The frames are taken off the wire through a
 * relay and decoded with rhea's own frame reader.
 */
import rhea, { type Connection, type EventContext, type Receiver, type Sender, type Typed } from "rhea";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signSas } from "../../../src/emulator/auth/sas.js";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { freshHub, startTestEmulator } from "./harness.js";
import { type SentPerformative, startWireCapture, type WireCapture } from "./wire-capture.js";

/** Field counts of the AMQP 1.0 lists (OASIS AMQP 1.0, part 2 and 3). */
const SPEC_FIELDS: Record<string, number> = {
  open: 10,
  begin: 8,
  attach: 14,
  flow: 11,
  transfer: 11,
  disposition: 6,
  detach: 3,
  end: 1,
  close: 1,
};
const ERROR_FIELDS = 3;
const SOURCE_FIELDS = 11;
const TARGET_FIELDS = 7;
const REJECTED_CODE = 0x25;

function described(value: Typed | undefined): { code: unknown; fields: Typed[] } | undefined {
  if (value === undefined || value.descriptor === undefined) return undefined;
  return { code: (value.descriptor as Typed).value, fields: value.value as Typed[] };
}

describe("emulator frames on the wire", () => {
  let emulator: EmulatorServer;
  let capture: WireCapture;
  const connections: Connection[] = [];

  beforeAll(async () => {
    emulator = await startTestEmulator();
    capture = await startWireCapture(emulator.amqpPort);
    await exercise();
    await waitFor(() => capture.sent.some((p) => p.name === "end"), { what: "an end from the emulator" });
  });
  afterAll(async () => {
    for (const c of connections.splice(0)) {
      c.close();
      // The emulator's close frame is the last thing it sends; cut the relay only after it.
      await waitFor(() => capture.sent.some((p) => p.name === "close"), { what: "the emulator's close" });
    }
    await capture.close();
    await emulator.close();
  });

  function once(link: Sender | Receiver | Connection, event: string): Promise<EventContext> {
    return new Promise((resolve) => link.once(event, resolve));
  }

  /** Drives the emulator through every performative it sends: links, transfers, refusals, ends. */
  async function exercise(): Promise<void> {
    const hub = freshHub(emulator, 1);
    const container = rhea.create_container({ id: "wire-fields" });
    const connection = container.connect({
      host: "127.0.0.1",
      port: capture.port,
      username: emulator.config.keyName, // SASL ANONYMOUS, as the SDKs do
      reconnect: false,
    });
    connections.push(connection);
    await once(connection, "connection_open");
    const audience = `sb://127.0.0.1:${emulator.amqpPort}/${hub}`;
    const token = signSas({
      audience,
      keyName: emulator.config.keyName,
      key: emulator.config.key,
      expiresAtSec: Math.floor(Date.now() / 1000) + 3600,
    });
    const cbsOut = connection.open_sender({ target: { address: "$cbs" } });
    const cbsIn = connection.open_receiver({ source: { address: "$cbs" } });
    await Promise.all([once(cbsOut, "sendable"), once(cbsIn, "receiver_open")]);
    const reply = once(cbsIn, "message");
    cbsOut.send({
      message_id: "1",
      reply_to: "cbs",
      body: token,
      application_properties: {
        operation: "put-token",
        name: audience,
        type: "servicebus.windows.net:sastoken",
      },
    });
    await reply;

    const sender = connection.open_sender({ target: { address: `${hub}/Partitions/0` } });
    await once(sender, "sendable");
    const accepted = once(sender, "accepted");
    sender.send({ body: "event" });
    await accepted;
    const rejected = once(sender, "rejected");
    sender.send({ body: Buffer.alloc(1024 * 1024 + 1) }); // over the 1 MiB limit
    await rejected;

    const reader = connection.open_receiver({
      source: { address: `${hub}/ConsumerGroups/$Default/Partitions/0` },
      credit_window: 10,
    });
    await once(reader, "message");
    const refused = connection.open_receiver({
      source: { address: "no-such-hub/ConsumerGroups/$Default/Partitions/0" },
    });
    await once(refused, "receiver_close");
    const readerClosed = once(reader, "receiver_close");
    reader.close();
    await readerClosed;
    const session = connection.create_session();
    const sessionOpened = once(session as unknown as Connection, "session_open");
    session.begin();
    await sessionOpened;
    const sessionClosed = once(session as unknown as Connection, "session_close");
    session.close();
    await sessionClosed;
  }

  it("sends open, begin, attach, flow, transfer, disposition, detach and end with every field", async () => {
    const sent = capture.sent;
    for (const [name, count] of Object.entries(SPEC_FIELDS)) {
      const ofName = sent.filter((p) => p.name === name);
      if (name !== "close") expect(ofName.length, `${name} frames sent`).toBeGreaterThan(0);
      for (const p of ofName) expect(p.fields.length, `fields of ${name}`).toBe(count);
    }
  });

  it("fills the fields a positional reader compares, and nested errors, sources and targets", () => {
    const byName = (name: string): SentPerformative[] => capture.sent.filter((p) => p.name === name);
    const open = byName("open")[0];
    expect(open?.fields[2]?.value, "open max-frame-size").toBeGreaterThanOrEqual(512);
    expect(open?.fields[3]?.value, "open channel-max").toBeTypeOf("number");
    for (const begin of byName("begin"))
      expect(begin.fields[4]?.value, "begin handle-max").toBeTypeOf("number");

    const attaches = byName("attach");
    for (const attach of attaches) {
      const source = described(attach.fields[5]);
      const target = described(attach.fields[6]);
      // The Python SDK merges these into its own link properties: a map, never null.
      expect(attach.fields[13]?.value, "attach properties").toBeTypeOf("object");
      expect(attach.fields[13]?.value, "attach properties").not.toBeNull();
      if (source) expect(source.fields.length, "source fields").toBe(SOURCE_FIELDS);
      if (target) expect(target.fields.length, "target fields").toBe(TARGET_FIELDS);
    }
    const errors = byName("detach")
      .map((d) => described(d.fields[2]))
      .filter((e) => e !== undefined);
    expect(errors.length, "detaches with an error").toBeGreaterThan(0);
    for (const error of errors) expect(error.fields.length, "error fields").toBe(ERROR_FIELDS);

    const rejections = byName("disposition")
      .map((d) => described(d.fields[4]))
      .filter((state) => state?.code === REJECTED_CODE);
    expect(rejections.length, "rejected dispositions").toBeGreaterThan(0);
    for (const rejected of rejections) {
      expect(rejected?.fields.length, "rejected fields").toBe(1);
      expect(described(rejected?.fields[0])?.fields.length, "rejected error fields").toBe(ERROR_FIELDS);
    }
  });
});
