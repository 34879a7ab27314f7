/** Wakes whoever waits for a partition processor's state to change (room, idle, state). */
export class ChangeNotifier {
  private waiters: Waiter[] = [];

  /**
   * Wakes every waiter whose condition holds. Called after every event: it allocates nothing
   * unless it wakes someone, and a waiter whose condition does not hold yet stays registered
   * rather than waking only to register again.
   */
  notify(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    let kept: Waiter[] | undefined;
    for (let i = 0; i < waiters.length; i += 1) {
      const waiter = waiters[i]!;
      if (waiter.ready()) {
        kept ??= waiters.slice(0, i);
        waiter.wake();
      } else if (kept !== undefined) {
        kept.push(waiter);
      }
    }
    if (kept !== undefined) this.waiters = kept;
  }

  /** Resolves at the next {@link notify}, or after `timeoutMs` when given. */
  changed(timeoutMs?: number): Promise<void> {
    return this.until(always, timeoutMs);
  }

  /**
   * Resolves at the first {@link notify} at which `ready()` returns true (it is not asked now), or
   * after `timeoutMs` when given.
   */
  until(ready: () => boolean, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        ready,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => {
            this.waiters = this.waiters.filter((w) => w !== waiter);
            resolve();
          },
          Math.max(0, timeoutMs),
        );
      }
    });
  }
}

interface Waiter {
  readonly ready: () => boolean;
  readonly wake: () => void;
}

function always(): boolean {
  return true;
}
