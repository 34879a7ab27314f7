/**
 * What a drill report holds: the scenario, the settings, the recorded observations' figures, the
 * failover times and the verdict. Built once by {@link buildReport} (pure) and rendered as JSON,
 * Markdown and an SVG timeline.
 */
import type { FaultFailover, KindFailover } from "../failover.js";
import { computeFailovers, summarizeFailovers } from "../failover.js";
import type {
  CheckpointSample,
  DrillObservations,
  FaultKind,
  FaultRecord,
  OwnershipSample,
} from "../types.js";
import { computeVerdict, type Verdict } from "../verdict.js";

/** The scenario as asked for. */
export interface DrillScenario {
  readonly seed: number;
  /** Workers at the start. */
  readonly workers: number;
  readonly partitions: number;
  /** Events asked for. */
  readonly events: number;
  /** Partition keys the events are spread over (0 = no keys). */
  readonly keys: number;
  /** Send rate, events per second (undefined = unlimited). */
  readonly ratePerSecond: number | undefined;
  /** Faults asked for, per kind. */
  readonly faults: Readonly<Partial<Record<FaultKind, number>>>;
}

/** Facts of the run besides the observations. */
export interface DrillRunFacts {
  /** When the first worker was started (the stack was up), epoch milliseconds; the timeline's origin. */
  readonly startedAtMs: number;
  /** When every process was stopped and the last sample taken, epoch milliseconds. */
  readonly endedAtMs: number;
  /** Milliseconds Azurite and the emulator took to start, before `startedAtMs`. */
  readonly stackStartupMs: number;
  /** Worker settings passed to every `ehw run` (flag → value). */
  readonly workerFlags: Readonly<Record<string, string>>;
  /** Seconds the producer took and batches it had to send again after a failed attempt. */
  readonly send: { readonly seconds: number; readonly retriedBatches: number };
  /** Whether the wait for every checkpoint to reach the last event ended in time. */
  readonly caughtUp: boolean;
  /** Milliseconds the catch-up wait took. */
  readonly catchUpMs: number;
  /** When sending began and ended, and when the workers were told to stop, epoch milliseconds. */
  readonly phases?: {
    readonly sendStartedAtMs: number;
    readonly sendEndedAtMs: number;
    readonly stoppingAtMs: number;
  };
}

/** Processing throughput from the ledgers. */
export interface Throughput {
  /** Distinct events processed per second between the first and the last ledger entry. */
  readonly eventsPerSecond: number;
  readonly firstEntryMs: number | undefined;
  readonly lastEntryMs: number | undefined;
}

/** Everything a report shows. */
export interface DrillReport {
  readonly scenario: DrillScenario;
  readonly run: DrillRunFacts;
  readonly settings: DrillObservations["settings"];
  readonly faults: readonly FaultRecord[];
  readonly failovers: readonly FaultFailover[];
  readonly failoverByKind: Partial<Record<FaultKind, KindFailover>>;
  readonly verdict: Verdict;
  readonly throughput: Throughput;
  /** Workers that ran, in start order. */
  readonly workers: readonly string[];
  /** Partition ids, numerically sorted. */
  readonly partitionIds: readonly string[];
  /** The ownership samples, for the timeline. */
  readonly ownerships: readonly OwnershipSample[];
  /** The checkpoint samples, for a closer look at a backwards move. */
  readonly checkpoints: readonly CheckpointSample[];
  /** Last sequence number per partition once sending finished. */
  readonly lastSequenceNumbers: Readonly<Record<string, number>>;
}

/** Throughput over the ledgers: distinct (p, s) over the span of all entries. */
export function throughput(observations: DrillObservations, distinct: number): Throughput {
  let first: number | undefined;
  let last: number | undefined;
  for (const ledger of observations.ledgers) {
    for (const e of ledger.entries) {
      if (first === undefined || e.t < first) first = e.t;
      if (last === undefined || e.t > last) last = e.t;
    }
  }
  const seconds = first === undefined || last === undefined ? 0 : (last - first) / 1000;
  return { eventsPerSecond: seconds > 0 ? distinct / seconds : 0, firstEntryMs: first, lastEntryMs: last };
}

/** Computes the verdict and failover figures and assembles the report. */
export function buildReport(
  scenario: DrillScenario,
  run: DrillRunFacts,
  observations: DrillObservations,
  workers: readonly string[],
): DrillReport {
  const verdict = computeVerdict(observations);
  const failovers = computeFailovers(
    observations.faults,
    observations.ownerships,
    observations.ledgers,
    observations.lastSequenceNumbers,
  );
  return {
    scenario,
    run,
    settings: observations.settings,
    faults: observations.faults,
    failovers,
    failoverByKind: summarizeFailovers(failovers),
    verdict,
    throughput: throughput(observations, verdict.distinctProcessed),
    workers,
    partitionIds: Object.keys(observations.lastSequenceNumbers).sort((a, b) => Number(a) - Number(b)),
    ownerships: observations.ownerships,
    checkpoints: observations.checkpoints,
    lastSequenceNumbers: observations.lastSequenceNumbers,
  };
}

/** `<kind>#<index>`, how reports name a fault. */
export function faultName(fault: { kind: FaultKind; index: number }): string {
  return `${fault.kind}#${fault.index}`;
}
