/**
 * The dev stack's steady stream of events: the load generator of `ehw send`, in process, with
 * increasing ids over a few partition keys at a fixed rate, until stopped.
 */
import { redactSecrets } from "../observability/logger.js";
import { checkTarget, createProducerClient, rootSdkError, sendFailure } from "../producer/client.js";
import { compileSendOptions } from "../producer/options.js";
import { type SendProgress, sendEvents } from "../producer/send-loop.js";
import type { BatchTracer } from "../producer/send-tracing.js";

/** Options of {@link startDevProducer}. */
export interface DevProducerOptions {
  /** Event Hubs namespace connection string. */
  connectionString: string;
  /** Event hub name. */
  hub: string;
  /** Events per second, > 0. */
  ratePerSecond: number;
  /** Partition keys `key-0 … key-{keys-1}`. */
  keys: number;
  /** Id of the first event; a later session in the same data directory continues the ids. */
  idStart: number;
  /** Opens a producer span per batch whose context the events carry (`ehw dev --tracing`); default none. */
  tracer?: BatchTracer;
}

/** A running producer. */
export interface DevProducer {
  /** Live counters of acknowledged events. */
  readonly progress: SendProgress;
  /** Why sending stopped before `stop()`, if it did. */
  readonly failure: string | undefined;
  /** Stops after the batches in flight and closes the client; never rejects. */
  stop(): Promise<void>;
}

/** Batches in flight; few are needed at dev rates, and keys keep their order with one each. */
const CONCURRENCY = 4;

/**
 * Checks the hub is reachable (rejecting with a ConnectionError if not), then sends in the
 * background until {@link DevProducer.stop}. A later send failure is kept in `failure`.
 */
export async function startDevProducer(options: DevProducerOptions): Promise<DevProducer> {
  const send = compileSendOptions({
    connectionString: options.connectionString,
    hub: options.hub,
    count: Number.MAX_SAFE_INTEGER - options.idStart,
    rate: options.ratePerSecond,
    keys: options.keys,
    idStart: options.idStart,
    concurrency: CONCURRENCY,
  });
  const client = createProducerClient(send);
  try {
    await checkTarget(client, send);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  const stop = new AbortController();
  const progress: SendProgress = { sent: 0, batches: 0, firstId: undefined, lastId: undefined };
  let failure: string | undefined;
  const running = sendEvents(client, send, { signal: stop.signal, progress, tracer: options.tracer }).then(
    () => undefined,
    (err: unknown) => {
      const error = sendFailure(err, "send to", send);
      failure = redactSecrets(error.message || String(rootSdkError(err)));
    },
  );
  return {
    progress,
    get failure() {
      return failure;
    },
    async stop() {
      stop.abort();
      await running;
      await client.close().catch(() => undefined);
    },
  };
}
