/** A stop that is safe to call again (Herald's stop, a server's close, a child's kill). */
export type Stop = () => Promise<unknown> | void;

const stops = new Set<Stop>();

/**
 * Stops `stop` when the test file ends unless it has been stopped already, so nothing a file started
 * outlives it, even when a test fails half-way or a file forgets its afterAll. A file that stops a
 * thing earlier (a Herald per database kind, to free its memory) still may: stops are idempotent.
 */
export function stopAtEndOfFile(stop: Stop): void {
  stops.add(stop);
}

/** Runs every registered stop, the last registered first; returns what failed instead of throwing. */
export async function stopEverything(): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const stop of [...stops].reverse()) {
    stops.delete(stop);
    try {
      await stop();
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}
