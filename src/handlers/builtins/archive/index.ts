/**
 * The `archive` built-in: writes every event it is given to Avro files in Event Hubs Capture's
 * schema and naming, one writer per partition (see partition-writer.ts). `handleBatch` resolves
 * only once the file holding the batch is committed, so the worker never checkpoints past an event
 * the archive does not hold. Run it in a batch pipeline with ordering "partition" (the default).
 */
import type { ContainerClient } from "@azure/storage-blob";
import { ConfigError } from "../../../common/errors.js";
import type { EventHandler, HandlerContext, InitContext, ReceivedEventData } from "../../contract.js";
import { compileArchiveOptions } from "./options.js";
import { PartitionArchiveWriter } from "./partition-writer.js";
import { archiveContainerClient, statusOf } from "./storage.js";

export type { ArchiveHandlerOptions, CompiledArchiveOptions } from "./options.js";

async function openContainer(client: ContainerClient, create: boolean, setting: string): Promise<void> {
  if (create) {
    await client.createIfNotExists();
    return;
  }
  if (!(await client.exists())) {
    throw new ConfigError(
      `${setting}.container: the archive container ${client.containerName} does not exist; create it or set createContainer to true`,
      { context: { setting: `${setting}.container` } },
    );
  }
}

/** Builds the `archive` handler from its options; see the module comment. */
export function createArchiveHandler(
  rawOptions: Record<string, unknown>,
  initCtx: InitContext,
): EventHandler {
  const options = compileArchiveOptions(rawOptions, initCtx);
  const container = archiveContainerClient(options.storage, options.container);
  const writers = new Map<string, PartitionArchiveWriter>();
  const writerFor = (ctx: HandlerContext): PartitionArchiveWriter => {
    const key = `${ctx.eventHubName}/${ctx.partitionId}`;
    let writer = writers.get(key);
    if (writer === undefined) {
      writer = new PartitionArchiveWriter({
        container,
        options,
        eventHubName: ctx.eventHubName,
        partitionId: ctx.partitionId,
        logger: initCtx.logger.child({ partitionId: ctx.partitionId }),
      });
      writers.set(key, writer);
    }
    return writer;
  };
  const handleBatch = async (events: ReceivedEventData[], ctx: HandlerContext): Promise<void> => {
    await writerFor(ctx).append(events, ctx.signal);
  };
  return {
    name: "archive",
    async init() {
      try {
        await openContainer(container, options.createContainer, `handlers.${initCtx.name}.options`);
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        const status = statusOf(err);
        throw new ConfigError(
          `handlers.${initCtx.name}.options: the archive container ${options.container} could not be opened${status === undefined ? "" : ` (HTTP ${status})`}: check the storage settings and permissions`,
          { cause: err, context: { setting: `handlers.${initCtx.name}.options` } },
        );
      }
      initCtx.logger.info({ container: options.container, codec: options.codec }, "archive ready");
    },
    handleBatch,
    handle: (event, ctx) => handleBatch([event], ctx),
  };
}
