import { describe, expect, it } from 'vitest';
import { Wakeup } from '../../src/jobs/wakeup.js';

const HOUR = 3_600_000;
const never = new AbortController().signal;

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('a wakeup', () => {
  it('ends the sleeps of every loop asleep on it', async () => {
    const wakeup = new Wakeup();
    const sleeps = [wakeup.sleep(HOUR, never), wakeup.sleep(HOUR, never)];
    expect(await settled(Promise.race(sleeps))).toBe(false);
    wakeup.wake();
    expect(await settled(Promise.all(sleeps))).toBe(true);
  });

  it('keeps a wake that found nobody asleep for the next sleep only', async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    expect(await settled(wakeup.sleep(HOUR, never))).toBe(true);
    const next = wakeup.sleep(HOUR, never);
    expect(await settled(next)).toBe(false);
    wakeup.wake();
    await next;
  });

  it('ends a sleep when its signal aborts', async () => {
    const stopping = new AbortController();
    const sleep = new Wakeup().sleep(HOUR, stopping.signal);
    expect(await settled(sleep)).toBe(false);
    stopping.abort();
    expect(await settled(sleep)).toBe(true);
  });
});
