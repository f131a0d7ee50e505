import { setTimeout as sleep } from 'node:timers/promises';

/** Where a bucket reads the time and how it waits (a test passes its own). */
export interface BucketClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: BucketClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, undefined, { signal });
  },
};

/**
 * At most `ratePerSecond` sends a second, with a burst of one second's worth (at least one). Each
 * caller reserves its slot at once, so waiters go out in the order they asked.
 *
 * @example
 * const bucket = new TokenBucket(5);
 * await bucket.take(); // returns at once for the first 5 calls, then every 200 ms
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: BucketClock;
  #tokens: number;
  #last: number;

  constructor(ratePerSecond: number, clock: BucketClock = realClock) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be above 0');
    this.#rate = ratePerSecond;
    this.#burst = Math.max(1, ratePerSecond);
    this.#clock = clock;
    this.#tokens = this.#burst;
    this.#last = clock.now();
  }

  /** Waits for this caller's slot; rejects when `signal` aborts first. */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
    this.#tokens -= 1;
    // A negative balance is the queue of reservations ahead of (and including) this caller.
    if (this.#tokens < 0) await this.#clock.sleep((-this.#tokens * 1000) / this.#rate, signal);
  }
}
