/**
 * What the worker needs from this module at start: the policy failure handler over the dead-letter
 * container (checked, and created when allowed, before anything is consumed — so a storage problem
 * fails the start instead of the first poison event), and the registry with its poison checks.
 */
import type { TokenCredential } from "@azure/identity";
import type { CompiledHandlersConfig } from "../config/handlers.js";
import type { StorageConfig } from "../config/worker.js";
import type { HandlerRegistry } from "../handlers/registry.js";
import type { Logger } from "../observability/logger.js";
import {
  type FailureOutcome,
  type PolicyFailureHandler,
  policyFailureHandler,
  usesDeadLetter,
} from "./failure-handler.js";
import { withPoisonChecks } from "./poison.js";
import { createDeadLetterStore, type DeadLetterStore } from "./store.js";

/** Options of {@link prepareFailureHandling}. */
export interface FailureHandlingOptions {
  /** The compiled handler section (pipelines with their policies and input checks). */
  readonly handlers: CompiledHandlersConfig;
  /** Checkpoint storage; the dead-letter container lives in the same account. */
  readonly storage: StorageConfig;
  /** Dead-letter container name. */
  readonly deadLetterContainer: string;
  /** Hub the worker reads. */
  readonly eventHubName: string;
  /** Consumer group the worker reads as. */
  readonly consumerGroup: string;
  /** Worker logger. */
  readonly logger: Logger;
  /** Credential for account-URL auth; default a DefaultAzureCredential. */
  readonly credential?: TokenCredential;
  /** Ends the dead-letter container check at once (a stop during start-up). */
  readonly signal?: AbortSignal;
  /** Metrics hook, called once per exhausted unit. */
  readonly onOutcome?: (outcome: FailureOutcome) => void;
}

/** The worker's failure handling. */
export interface FailureHandling {
  /** Applies each pipeline's policy to exhausted units. */
  readonly failureHandler: PolicyFailureHandler;
  /** The dead-letter store; undefined when no pipeline dead-letters. */
  readonly store: DeadLetterStore | undefined;
  /** Wraps a loaded registry so its pipelines apply their input checks (maxEventBytes, expectJson). */
  guard(registry: HandlerRegistry): HandlerRegistry;
}

/**
 * Builds the failure handling and, when a pipeline dead-letters, checks the dead-letter container
 * (creating it when `storage.createContainer` allows). Rejects with ConnectionError / ConfigError
 * from the store.
 */
export async function prepareFailureHandling(options: FailureHandlingOptions): Promise<FailureHandling> {
  const { handlers } = options;
  let store: DeadLetterStore | undefined;
  if (usesDeadLetter(handlers.pipelines)) {
    store = createDeadLetterStore({
      storage: options.storage,
      containerName: options.deadLetterContainer,
      eventHubName: options.eventHubName,
      consumerGroup: options.consumerGroup,
      credential: options.credential,
    });
    await store.prepare(options.storage.createContainer, options.logger, options.signal);
  }
  const failureHandler = policyFailureHandler({
    pipelines: handlers.pipelines,
    writer: store,
    eventHubName: options.eventHubName,
    consumerGroup: options.consumerGroup,
    logger: options.logger,
    onOutcome: options.onOutcome,
  });
  return { failureHandler, store, guard: (registry) => withPoisonChecks(registry, handlers) };
}
