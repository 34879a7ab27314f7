/**
 * Client-side deadlines of storage calls. In storage-blob 12.32 `retryOptions.tryTimeoutInMs` only
 * sets the service's `timeout` query parameter and never aborts a request, so a call to an
 * endpoint that accepts the connection and then stays silent (a wrong BlobEndpoint port, a proxy
 * or firewall holding connections open) waited forever. Every storage call of the checkpoint and
 * dead-letter stores therefore runs under an `abortSignal` that fires at its deadline, or earlier
 * when the caller's own signal fires; the deadline covers all of the call's tries.
 */
import type { CheckpointStore, OperationOptions } from "@azure/event-hubs";
import type { ContainerClient } from "@azure/storage-blob";
import { ConnectionError } from "../common/errors.js";

/** The abort signal type of the SDKs' operation options (a DOM AbortSignal satisfies it). */
type AbortSignalLike = NonNullable<OperationOptions["abortSignal"]>;

/** Default deadline of one storage call, all its tries included, in milliseconds. */
export const DEFAULT_STORAGE_TIMEOUT_MS = 15_000;

/** Options of the stores' storage calls. */
export interface StorageDeadlineOptions {
  /**
   * Milliseconds one storage call (all its tries) may take before it fails with
   * {@link StorageTimeoutError}; default {@link DEFAULT_STORAGE_TIMEOUT_MS}. Must be > 0.
   */
  readonly timeoutMs?: number;
}

/** A storage call that did not answer within its deadline. Retriable: the next call may get through. */
export class StorageTimeoutError extends ConnectionError {
  constructor(host: string, operation: string, timeoutMs: number, cause: unknown) {
    super(
      `blob storage at ${host} did not answer within ${timeoutMs} ms to ${operation}: check that the storage connection string's BlobEndpoint (or the account URL) names a reachable Blob service, and that no proxy or firewall on the way holds the connection open without answering`,
      { cause, retriable: true, context: { host, operation, timeoutMs } },
    );
  }
}

/** The deadline of every call to one storage endpoint. */
export class StorageDeadline {
  /** Deadline of one call, milliseconds. */
  readonly timeoutMs: number;

  /**
   * @param host - endpoint host (and port) for the error; never a key.
   * @param options - see {@link StorageDeadlineOptions}.
   */
  constructor(
    readonly host: string,
    options: StorageDeadlineOptions = {},
  ) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STORAGE_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`storage timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    }
    this.timeoutMs = timeoutMs;
  }

  /** The deadline of a container client's endpoint. */
  static of(containerClient: ContainerClient, options: StorageDeadlineOptions = {}): StorageDeadline {
    return new StorageDeadline(storageEndpointHost(containerClient), options);
  }

  /**
   * Runs `call` with an abort signal that fires at the deadline or with `signal`. A call cut off by
   * the deadline rejects with {@link StorageTimeoutError}; one cut off by `signal` rejects as the
   * SDK does (an AbortError), so that callers tell a stop from a silent endpoint.
   *
   * @param operation - what the call does, for the error ("list ownership records").
   */
  async run<T>(
    operation: string,
    call: (abortSignal: AbortSignal) => Promise<T>,
    signal?: AbortSignalLike,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const abortSignal = signal === undefined ? deadline : AbortSignal.any([asAbortSignal(signal), deadline]);
    try {
      return await call(abortSignal);
    } catch (err) {
      if (deadline.aborted && signal?.aborted !== true) {
        throw new StorageTimeoutError(this.host, operation, this.timeoutMs, err);
      }
      throw err;
    }
  }
}

/** A DOM AbortSignal for the SDK's AbortSignalLike (which callers may implement themselves). */
function asAbortSignal(signal: AbortSignalLike): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort();
  else signal.addEventListener("abort", () => controller.abort(), { once: true });
  return controller.signal;
}

/** The host (and port) a container client talks to; safe to log, never holds a key. */
export function storageEndpointHost(containerClient: ContainerClient): string {
  try {
    return new URL(containerClient.url).host;
  } catch {
    return "(unknown storage endpoint)";
  }
}

/**
 * A CheckpointStore whose every call runs under a {@link StorageDeadline}, passing it to the inner
 * store (BlobCheckpointStore) as `abortSignal`. The SDK's load balancer calls the store without a
 * signal of its own and hides errors named AbortError; a {@link StorageTimeoutError} reaches
 * `processError` and the next loop tries again.
 */
export class DeadlineCheckpointStore implements CheckpointStore {
  constructor(
    private readonly inner: CheckpointStore,
    private readonly deadline: StorageDeadline,
  ) {}

  listOwnership(...[ns, hub, group, options]: Parameters<CheckpointStore["listOwnership"]>) {
    return this.run("list ownership records", options, (o) => this.inner.listOwnership(ns, hub, group, o));
  }

  claimOwnership(...[ownerships, options]: Parameters<CheckpointStore["claimOwnership"]>) {
    return this.run("claim partition ownership", options, (o) => this.inner.claimOwnership(ownerships, o));
  }

  listCheckpoints(...[ns, hub, group, options]: Parameters<CheckpointStore["listCheckpoints"]>) {
    return this.run("list checkpoints", options, (o) => this.inner.listCheckpoints(ns, hub, group, o));
  }

  updateCheckpoint(...[checkpoint, options]: Parameters<CheckpointStore["updateCheckpoint"]>) {
    return this.run("write a checkpoint", options, (o) => this.inner.updateCheckpoint(checkpoint, o));
  }

  private run<T>(
    operation: string,
    options: OperationOptions | undefined,
    call: (options: OperationOptions) => Promise<T>,
  ): Promise<T> {
    return this.deadline.run(
      operation,
      (abortSignal) => call({ ...options, abortSignal }),
      options?.abortSignal,
    );
  }
}

/** One page of a storage listing, as the SDK's `byPage()` iterators yield it. */
interface ListingPage {
  readonly continuationToken?: string;
}

/**
 * The pages of a storage listing, each fetched under the deadline: a long listing takes as long as
 * its pages need, while a silent endpoint fails within one deadline. `open` starts the SDK's page
 * iterator at `continuationToken` with the call's abort signal, e.g.
 * `(abortSignal, token) => container.listBlobsFlat({ abortSignal }).byPage({ continuationToken: token })`.
 */
export async function* pagesWithin<P extends ListingPage>(
  deadline: StorageDeadline,
  operation: string,
  open: (abortSignal: AbortSignal, continuationToken: string | undefined) => AsyncIterator<P>,
): AsyncGenerator<P> {
  let continuationToken: string | undefined;
  do {
    const token = continuationToken;
    const next = await deadline.run(operation, (abortSignal) => open(abortSignal, token).next());
    if (next.done === true) return;
    yield next.value;
    continuationToken = next.value.continuationToken || undefined;
  } while (continuationToken !== undefined);
}
