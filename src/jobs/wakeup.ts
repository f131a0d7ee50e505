import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Lets a stage wake a polling loop of the same process when it has just committed work for it
 * (ingest → tokens, tokens → delivery), instead of leaving the work to the loop's next poll.
 * Polling stays, for work committed by other processes. A wake that finds no loop asleep is kept
 * for the next sleep, so one given between a poll and the sleep after it is not lost.
 */
export class Wakeup {
  readonly #sleepers = new Set<AbortController>();
  #pending = false;

  wake(): void {
    if (this.#sleepers.size === 0) {
      this.#pending = true;
      return;
    }
    for (const sleeper of this.#sleepers) sleeper.abort();
    this.#sleepers.clear();
  }

  /** Waits `ms`, or less when woken or when `signal` aborts. */
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return;
    }
    const woken = new AbortController();
    this.#sleepers.add(woken);
    try {
      await sleep(ms, undefined, { signal: AbortSignal.any([signal, woken.signal]) }).catch(() => undefined);
    } finally {
      this.#sleepers.delete(woken);
    }
  }
}
