/** Link addresses the emulator understands, parsed from a terminus address. */

/** What a link address names. */
export type LinkAddress =
  | { kind: "cbs" }
  | { kind: "management" }
  /** A hub: sends are spread over partitions (or hashed by key). */
  | { kind: "hub"; hub: string }
  /** `<hub>/Partitions/<n>`: sends go to partition n. */
  | { kind: "partition"; hub: string; partitionId: string }
  /** `<hub>/ConsumerGroups/<cg>/Partitions/<n>`: a reader. */
  | { kind: "consumer"; hub: string; consumerGroup: string; partitionId: string }
  | { kind: "unknown"; address: string };

/**
 * Parses an address. Accepts a bare path or a full `amqp(s)://host/path` URI, since clients may
 * send either; path segments are case-insensitive like the service's.
 */
export function parseLinkAddress(address: unknown): LinkAddress {
  if (typeof address !== "string") return { kind: "unknown", address: String(address) };
  const path = address.replace(/^[a-z]+:\/\/[^/]*/i, "").replace(/^\/+|\/+$/g, "");
  if (path === "$cbs") return { kind: "cbs" };
  if (path === "$management") return { kind: "management" };
  const parts = path.split("/");
  const [hub, a, b, c, d] = parts;
  if (hub === undefined || hub === "") return { kind: "unknown", address };
  if (parts.length === 1) return { kind: "hub", hub };
  if (parts.length === 3 && a?.toLowerCase() === "partitions" && b !== undefined) {
    return { kind: "partition", hub, partitionId: b };
  }
  if (
    parts.length === 5 &&
    a?.toLowerCase() === "consumergroups" &&
    b !== undefined &&
    c?.toLowerCase() === "partitions" &&
    d !== undefined
  ) {
    return { kind: "consumer", hub, consumerGroup: b, partitionId: d };
  }
  return { kind: "unknown", address };
}

/** The partition index `id` names in a hub of `count` partitions, or undefined. */
export function partitionIndex(id: string, count: number): number | undefined {
  if (!/^\d+$/.test(id)) return undefined;
  const n = Number(id);
  return n < count ? n : undefined;
}
