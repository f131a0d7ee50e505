/**
 * Failed sign-ins, counted per client address and per user name, in this process. After a few
 * failures each further one locks the key out for twice as long as the last (backoff, up to a
 * lockout of 15 minutes); a success clears the user name's count. Guessing a password through
 * `POST /api/LoginToken` therefore costs hours, not seconds, from one address or against one user.
 */
export interface ThrottlePolicy {
  /** Failures allowed before the first lockout. */
  readonly freeFailures: number;
  readonly firstLockoutMs: number;
  readonly maxLockoutMs: number;
  /** A key's failures are forgotten this long after its last one. */
  readonly forgetAfterMs: number;
}

export const ADDRESS_POLICY: ThrottlePolicy = {
  freeFailures: 20,
  firstLockoutMs: 1000,
  maxLockoutMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
};
export const USER_POLICY: ThrottlePolicy = {
  freeFailures: 5,
  firstLockoutMs: 1000,
  maxLockoutMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
};

/** Keys remembered at most, so a flood of made-up user names cannot fill memory. */
const MAX_KEYS = 50_000;

interface Failures {
  count: number;
  last: number;
  lockedUntil: number;
}

export class LoginThrottle {
  readonly #keys = new Map<string, Failures>();

  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  waitMs(key: string): number {
    const entry = this.#current(key);
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  failed(key: string): void {
    const now = this.now();
    const entry = this.#current(key) ?? { count: 0, last: now, lockedUntil: 0 };
    entry.count += 1;
    entry.last = now;
    const over = entry.count - this.policy.freeFailures;
    if (over > 0)
      entry.lockedUntil = now + Math.min(this.policy.maxLockoutMs, this.policy.firstLockoutMs * 2 ** (over - 1));
    this.#keys.delete(key);
    this.#keys.set(key, entry);
    if (this.#keys.size > MAX_KEYS) this.#keys.delete(this.#keys.keys().next().value!);
  }

  succeeded(key: string): void {
    this.#keys.delete(key);
  }

  #current(key: string): Failures | undefined {
    const entry = this.#keys.get(key);
    if (entry && this.now() - entry.last > this.policy.forgetAfterMs) {
      this.#keys.delete(key);
      return undefined;
    }
    return entry;
  }
}
