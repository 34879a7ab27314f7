/**
 * Dead-letter handling: per-pipeline failure policies (deadletter, stop, skip), the dead-letter
 * container and its documents, poison-input checks, and replay.
 */
export type {
  BodyEncoding,
  DeadLetterContext,
  DeadLetterDocument,
  StoredError,
  StoredErrorLink,
} from "./document.js";
export {
  buildDeadLetterDocument,
  DEAD_LETTER_DOCUMENT_VERSION,
  decodeBody,
  decodeRecord,
  describeError,
} from "./document.js";
export type {
  DeadLetterWriter,
  FailureOutcome,
  FailureStats,
  PolicyFailureHandler,
  PolicyFailureHandlerOptions,
} from "./failure-handler.js";
export { failurePolicyOf, policyFailureHandler, usesDeadLetter } from "./failure-handler.js";
export type { DeadLetterBlobRef } from "./naming.js";
export {
  DEAD_LETTER_CONTAINER_SUFFIX,
  deadLetterBlobName,
  deadLetterPrefix,
  defaultDeadLetterContainer,
  parseDeadLetterBlobName,
} from "./naming.js";
export type { PoisonChecks, PoisonReason } from "./poison.js";
export {
  eventBodyBytes,
  guardPipeline,
  PoisonEventError,
  poisonProblem,
  withPoisonChecks,
} from "./poison.js";
export type { ReplayOptions, ReplayResult, ReplaySender, ReplayTarget } from "./replay.js";
export { producerSender, replayDeadLetters, replayEventOf, replayTargetOf } from "./replay.js";
export type {
  CreateDeadLetterStoreOptions,
  DeadLetterEntry,
  DeadLetterListFilter,
  DeadLetterStoreOptions,
} from "./store.js";
export { createDeadLetterStore, DeadLetterStore } from "./store.js";
export type { FailureHandling, FailureHandlingOptions } from "./worker-setup.js";
export { prepareFailureHandling } from "./worker-setup.js";
