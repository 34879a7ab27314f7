/**
 * Namespace prefixes of checkpoint and ownership blobs. `BlobCheckpointStore` names its blobs
 * `<namespace>/<hub>/<consumer group>/{checkpoint,ownership}/<partition>`, all lower-cased, where
 * the namespace is whatever the SDK derived from the Endpoint: the JS SDK drops the port
 * (`127.0.0.1`), the Python SDK keeps it (`127.0.0.1:5672`), and `localhost` or a compose service
 * name is a third. Consumers under different prefixes never see each other's records (issue 18 #4).
 */
import type { ContainerClient } from "@azure/storage-blob";
import { translateStorageError } from "../checkpoint/blob-store.js";
import { pagesWithin, StorageDeadline } from "../checkpoint/deadline.js";

/**
 * The distinct namespace prefixes among `blobNames` that hold checkpoint or ownership records of
 * `eventHubName` and `consumerGroup` (compared lower-cased, as the store writes them), sorted.
 */
export function namespacePrefixesOf(
  blobNames: Iterable<string>,
  eventHubName: string,
  consumerGroup: string,
): string[] {
  const hub = eventHubName.toLowerCase();
  const group = consumerGroup.toLowerCase();
  const found = new Set<string>();
  for (const name of blobNames) {
    const parts = name.split("/");
    if (parts.length !== 5) continue;
    const [namespace, blobHub, blobGroup, kind, partitionId] = parts;
    if (blobHub !== hub || blobGroup !== group || !partitionId) continue;
    if (kind !== "checkpoint" && kind !== "ownership") continue;
    if (namespace) found.add(namespace);
  }
  return [...found].sort();
}

/**
 * Reads the namespace prefixes holding records of the hub and consumer group: the container's
 * top-level names first (one listing by hierarchy), then one short listing under each of them, so
 * that a container with millions of other blobs costs a few calls, not a walk through all of them.
 * Every page runs under the storage deadline.
 */
export async function readNamespacePrefixes(
  containerClient: ContainerClient,
  where: { readonly host: string; readonly containerName: string },
  eventHubName: string,
  consumerGroup: string,
): Promise<string[]> {
  const deadline = StorageDeadline.of(containerClient);
  const operation = "list the checkpoint container";
  const names: string[] = [];
  try {
    const tops: string[] = [];
    const roots = pagesWithin(deadline, operation, (abortSignal, continuationToken) =>
      containerClient.listBlobsByHierarchy("/", { abortSignal }).byPage({ continuationToken }),
    );
    for await (const page of roots) tops.push(...(page.segment.blobPrefixes ?? []).map((p) => p.name));
    for (const top of tops) {
      const prefix = `${top}${eventHubName.toLowerCase()}/${consumerGroup.toLowerCase()}/`;
      const pages = pagesWithin(deadline, operation, (abortSignal, continuationToken) =>
        containerClient.listBlobsFlat({ prefix, abortSignal }).byPage({ continuationToken, maxPageSize: 50 }),
      );
      // One page is enough: a prefix counts once it holds one record.
      for await (const page of pages) {
        names.push(...page.segment.blobItems.map((b) => b.name));
        if (namespacePrefixesOf(names, eventHubName, consumerGroup).includes(top.slice(0, -1))) break;
      }
    }
  } catch (err) {
    throw translateStorageError(err, { ...where, operation });
  }
  return namespacePrefixesOf(names, eventHubName, consumerGroup);
}

/**
 * The warning `ehw status` prints when records of one hub and consumer group sit under more than
 * one namespace prefix; undefined when there is at most one.
 */
export function mixedPrefixWarning(
  prefixes: readonly string[],
  ours: string,
  eventHubName: string,
  consumerGroup: string,
): string | undefined {
  if (prefixes.length <= 1) return undefined;
  const others = prefixes.filter((p) => p !== ours.toLowerCase());
  return (
    `checkpoint or ownership blobs of event hub '${eventHubName}', consumer group '${consumerGroup}' ` +
    `sit under ${prefixes.length} namespace prefixes (${prefixes.join(", ")}); this command and the JS ` +
    `workers use '${ours.toLowerCase()}'. Consumers under different prefixes do not share checkpoints or ` +
    `ownership: both claim every partition. The JS SDK drops the Endpoint's port, the Python SDK keeps ` +
    `it; give every consumer an Endpoint that yields one prefix (on port 5672, no port). Other prefixes: ${others.join(", ")}`
  );
}
