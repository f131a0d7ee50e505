/** The longest wait between two attempts, however many have failed. */
const MAX_DELAY_MS = 3_600_000;

/**
 * When to try an outgoing post again: exponential backoff (base·2^(n−1), at most an hour) with
 * jitter (between half and all of it), never past the horizon — the last try is at the horizon
 * itself. Null once the horizon has passed: the post is dead-lettered.
 *
 * @example nextAttemptAt(now, now, 1, 10_000, 86_400_000) // 5–10 s from now
 */
export function nextAttemptAt(
  now: Date,
  since: Date,
  failedAttempts: number,
  baseMs: number,
  horizonMs: number,
): Date | null {
  const deadline = since.getTime() + horizonMs;
  if (now.getTime() >= deadline) return null;
  const exponential = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.max(0, failedAttempts - 1));
  const delay = Math.round(exponential * (0.5 + Math.random() / 2));
  return new Date(Math.min(deadline, now.getTime() + delay));
}
