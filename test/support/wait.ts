import { setTimeout as sleep } from 'node:timers/promises';

/** What a truthy result of `T` can be. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Polls `probe` until it returns a truthy value without throwing, and returns that value. At the
 * deadline it fails with the probe's last error (or `description`), so a test never waits for a
 * fixed time and never hangs.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  timeoutMs = 10_000,
  options: { intervalMs?: number; description?: string } = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  const interval = options.intervalMs ?? 25;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Truthy<T>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = options.description ?? 'the condition';
      if (lastError instanceof Error) {
        lastError.message = `waitFor: ${what} did not hold within ${timeoutMs} ms: ${lastError.message}`;
        throw lastError;
      }
      throw new Error(`waitFor: ${what} did not hold within ${timeoutMs} ms`);
    }
    await sleep(interval);
  }
}
