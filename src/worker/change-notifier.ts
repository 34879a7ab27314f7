/** Wakes whoever waits for a partition processor's state to change (room, idle, state). */
export class ChangeNotifier {
  private waiters: Array<() => void> = [];

  /** Wakes every waiter. Called after every event: without waiters it swaps and allocates nothing. */
  notify(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next {@link notify}, or after `timeoutMs` when given. */
  changed(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
      if (timeoutMs !== undefined) timer = setTimeout(wake, Math.max(0, timeoutMs));
    });
  }
}
