/** The load generator behind `ehw send`, usable in process (benchmarks, drills). */
export {
  checkTarget,
  createProducerClient,
  PRODUCER_RETRY_OPTIONS,
  rootSdkError,
  sendFailure,
} from "./client.js";
export {
  compileSendOptions,
  MAX_BODY_SIZE_BYTES,
  MAX_CONCURRENCY,
  MAX_KEYS,
  type RawSendOptions,
  SEND_DEFAULTS,
  type SendOptions,
  type SendRouting,
} from "./options.js";
export { batchEventCap, keyForId, Lane, type LaneBatchOptions, SendPlan } from "./plan.js";
export {
  type BatchSender,
  eventFactory,
  type SendControl,
  type SendLoopOptions,
  type SendProgress,
  type SendSummary,
  sendEvents,
} from "./send-loop.js";
export {
  type BatchSpan,
  type BatchTracer,
  createBatchTracer,
  DIAGNOSTIC_ID_PROPERTY,
} from "./send-tracing.js";
export { type Clock, defaultBurst, TokenBucket, type TokenBucketOptions } from "./token-bucket.js";
