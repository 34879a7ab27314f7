/**
 * Injecting one planned fault into a running drill and recording what happened.
 */
import { ProcessError } from "../common/errors.js";
import { httpStatus } from "../local/http-probe.js";
import type { LocalStack } from "../local/index.js";
import type { Logger } from "../observability/logger.js";
import { describeExit, type WorkerFleet } from "./fleet.js";
import type { BlobSampler } from "./sampler.js";
import { type PlannedFault, pickVictim } from "./schedule.js";
import type { FaultRecord } from "./types.js";

/** What a fault acts on. */
export interface FaultTargets {
  readonly stack: LocalStack;
  readonly fleet: WorkerFleet;
  readonly sampler: BlobSampler;
  readonly eventHubName: string;
  /** Milliseconds a SIGTERMed worker may take to drain and exit before SIGKILL. */
  readonly termTimeoutMs: number;
  readonly logger: Logger;
}

async function stopVictim(planned: PlannedFault, targets: FaultTargets): Promise<Partial<FaultRecord>> {
  const { fleet, sampler } = targets;
  // A fresh read, so that the victim's partitions are the ones it owned right before the fault.
  await sampler.sampleNow();
  // Only workers that are up and own partitions: stopping one that is still starting, or one
  // without partitions, rehearses nothing. The seed fixes the pick; who owns what is up to timing.
  const ready = fleet.ready();
  const owning = ready.filter((id) => sampler.ownedBy(id).length > 0);
  const victim = pickVictim(owning.length > 0 ? owning : ready, planned.pick);
  if (victim === undefined) throw new ProcessError(`drill: no running worker to ${planned.kind}`);
  const victimPartitions = sampler.ownedBy(victim);
  const atMs = Date.now();
  const exit =
    planned.kind === "kill" ? await fleet.kill(victim) : await fleet.terminate(victim, targets.termTimeoutMs);
  const doneAtMs = Date.now();
  // The replacement starts in the background, so that a slow start does not delay later faults.
  const started = fleet.launch().id;
  return { atMs, doneAtMs, victim, victimPartitions, victimExit: describeExit(exit), started };
}

async function detach(targets: FaultTargets): Promise<void> {
  const url = `${targets.stack.emulator.adminUrl}/faults/detach`;
  const status = await httpStatus(url, {
    method: "POST",
    body: JSON.stringify({ hub: targets.eventHubName }),
    timeoutMs: 10_000,
  });
  if (status !== 200) throw new ProcessError(`drill: POST ${url} answered HTTP ${status}`);
}

/** Injects `planned` and returns its record. */
export async function injectFault(planned: PlannedFault, targets: FaultTargets): Promise<FaultRecord> {
  const base = { index: planned.index, kind: planned.kind };
  targets.logger.info({ fault: `${planned.kind}#${planned.index}` }, "injecting fault");
  if (planned.kind === "kill" || planned.kind === "term") {
    const record = await stopVictim(planned, targets);
    return { ...base, atMs: record.atMs as number, doneAtMs: record.doneAtMs as number, ...record };
  }
  const atMs = Date.now();
  switch (planned.kind) {
    case "add":
      return { ...base, atMs, doneAtMs: atMs, started: targets.fleet.launch().id };
    case "restart-storage":
      await targets.stack.azurite.restart();
      break;
    case "restart-hub":
      await targets.stack.emulator.restart();
      break;
    case "detach":
      await detach(targets);
      break;
  }
  return { ...base, atMs, doneAtMs: Date.now() };
}
