/**
 * The loops over runs of an `each` pipeline's events. The scheduler hands a run over as one unit
 * (one lane, one slot per event); its loop starts each event as if it were a unit of its own (own
 * attempts, failure decision, completion, slot), without a scheduling round trip per event. A loop
 * ends early when its partition stops, is lost or is past its drain deadline; the events it did not
 * start are dropped like queued units.
 */
import type { UnitAttempts, UnitEnd, UnitOwner } from "./attempts/attempts.js";
import { LATER } from "./now-or-later.js";
import type { WorkUnit } from "./ordering/scheduler.js";

/** What the loops need of their partition's processor. */
export interface EachRunHost {
  /** Whether the next event of a loop may start (the partition runs or drains, nothing aborted). */
  mayStart(): boolean;
  /** An event of a loop takes its slot. */
  started(events: number): void;
  /** Events of a loop that will never start give up their slots. */
  dropped(events: number): void;
  /** One event of a loop ended: complete, checkpoint when due, let the next ones in. */
  eventEnded(one: WorkUnit, end: UnitEnd): void;
  /** A loop ended (all its events ended or were dropped): the run's unit is done. */
  runEnded(unit: WorkUnit): void;
}

/** Progress of one running loop. */
interface EachRun {
  readonly unit: WorkUnit;
  /** Where the loop's asynchronous events report their end. */
  readonly owner: UnitOwner;
  /** Events started so far; set to the length when the rest is dropped. */
  started: number;
}

/** The running loops of one partition; see the module comment. */
export class EachRuns {
  private readonly runs = new Set<EachRun>();

  constructor(
    private readonly attempts: Pick<UnitAttempts, "run">,
    private readonly host: EachRunHost,
  ) {}

  /** Starts a loop over the run `unit`. */
  start(unit: WorkUnit): void {
    const run: EachRun = {
      unit,
      started: 0,
      owner: {
        settled: (end, one) => {
          this.host.eventEnded(one, end);
          this.continue(run);
        },
      },
    };
    this.runs.add(run);
    this.continue(run);
  }

  /** Drops the events the running loops have not started; each ends after its current event. */
  dropUnstarted(): void {
    for (const run of this.runs) this.drop(run);
  }

  /** Starts the loop's next events; events whose handlers return synchronously follow at once. */
  private continue(run: EachRun): void {
    const { unit, owner } = run;
    const { events } = unit;
    const { host } = this;
    while (run.started < events.length && host.mayStart()) {
      const event = events[run.started]!;
      run.started += 1;
      host.started(1);
      const one: WorkUnit = { pipeline: unit.pipeline, events: [event], lane: unit.lane };
      const end = this.attempts.run(one, owner);
      // Asynchronous: the loop goes on when `owner` hears of this event's end.
      if (end === LATER) return;
      host.eventEnded(one, end);
    }
    this.runs.delete(run);
    this.drop(run);
    host.runEnded(unit);
  }

  private drop(run: EachRun): void {
    const left = run.unit.events.length - run.started;
    this.host.dropped(left);
    run.started = run.unit.events.length;
  }
}
