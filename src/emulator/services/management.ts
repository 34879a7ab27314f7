/**
 * The `$management` node: READ of a hub (`com.microsoft:eventhub`) or of a partition
 * (`com.microsoft:partition`), answered with the service's field names and AMQP types.
 */
import rhea from "rhea";
import { EmulatorProtocolError } from "../errors.js";
import type { HubRegistry } from "./hubs.js";

/** Entity type of a hub READ. */
export const HUB_ENTITY_TYPE = "com.microsoft:eventhub";
/** Entity type of a partition READ. */
export const PARTITION_ENTITY_TYPE = "com.microsoft:partition";

/** A management request's application properties, as decoded. */
export interface ManagementRequest {
  /** `operation`; only "READ" is supported. */
  operation: unknown;
  /** `name`: the hub. */
  name: unknown;
  /** `type`: hub or partition entity type. */
  type: unknown;
  /** `partition`: the partition id, for partition READs. */
  partition: unknown;
}

/** The resource a request addresses, for the authorization check: `<hub>` or `<hub>/Partitions/<n>`. */
export function managementResource(request: ManagementRequest): string {
  return typeof request.name === "string" ? request.name : "";
}

/**
 * Answers a READ with an AMQP map body (a rhea typed value, ready to send).
 * @throws EmulatorProtocolError `amqp:not-found` for an unknown hub or partition,
 *   `amqp:not-implemented` for another operation, `amqp:invalid-field` for a bad request.
 */
export function readEntity(hubs: HubRegistry, request: ManagementRequest): unknown {
  const t = rhea.types;
  if (request.operation !== "READ") {
    throw new EmulatorProtocolError(
      "amqp:not-implemented",
      `management operation '${String(request.operation)}' is not supported`,
    );
  }
  if (typeof request.name !== "string")
    throw new EmulatorProtocolError("amqp:invalid-field", "management request needs a 'name'");
  const hub = hubs.get(request.name);
  if (!hub) {
    throw new EmulatorProtocolError(
      "amqp:not-found",
      `The messaging entity '${request.name}' could not be found.`,
    );
  }
  if (request.type === HUB_ENTITY_TYPE) {
    return t.wrap_map({
      name: t.wrap_string(hub.name),
      created_at: t.wrap_timestamp(hub.createdAtMs),
      partition_count: t.wrap_int(hub.partitions.length),
      partition_ids: t.wrap_array(
        hub.partitions.map((_, i) => String(i)),
        0xa1,
        undefined,
      ),
    });
  }
  if (request.type === PARTITION_ENTITY_TYPE) {
    const id = String(request.partition);
    const log = /^\d+$/.test(id) ? hub.partitions[Number(id)] : undefined;
    if (!log) {
      throw new EmulatorProtocolError(
        "amqp:not-found",
        `The messaging entity '${hub.name}/Partitions/${id}' could not be found.`,
      );
    }
    const info = log.info();
    return t.wrap_map({
      name: t.wrap_string(hub.name),
      partition: t.wrap_string(id),
      begin_sequence_number: t.wrap_long(info.beginSequenceNumber),
      last_enqueued_sequence_number: t.wrap_long(info.lastSequenceNumber),
      last_enqueued_offset: t.wrap_string(info.lastOffset),
      last_enqueued_time_utc: t.wrap_timestamp(info.lastEnqueuedTimeMs),
      is_partition_empty: t.wrap_boolean(info.isEmpty),
    });
  }
  throw new EmulatorProtocolError(
    "amqp:invalid-field",
    `unknown management entity type '${String(request.type)}'`,
  );
}
