import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextAttemptAt } from '../../../src/pipeline/events-out/retry-schedule.js';

const NOW = new Date('2026-11-24T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The wait before the next attempt, in ms, with Math.random() returning `draw`. */
function delayWith(draw: number, failedAttempts: number, baseMs = 10_000, horizonMs = DAY, since = NOW): number | null {
  vi.spyOn(Math, 'random').mockReturnValue(draw);
  const next = nextAttemptAt(NOW, since, failedAttempts, baseMs, horizonMs);
  return next === null ? null : next.getTime() - NOW.getTime();
}

// Just under 1: Math.random() never returns 1 itself.
const HIGHEST_DRAW = 1 - Number.EPSILON;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('nextAttemptAt: exponential backoff', () => {
  it('waits between half and all of the base after the first failure', () => {
    expect(delayWith(0, 1)).toBe(5_000);
    expect(delayWith(0.5, 1)).toBe(7_500);
    expect(delayWith(HIGHEST_DRAW, 1)).toBe(10_000);
  });

  it('doubles the wait with each failure: base·2^(n−1)', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => delayWith(HIGHEST_DRAW, n))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((n) => delayWith(0, n))).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000]);
  });

  it('treats zero failed attempts like one', () => {
    expect(delayWith(HIGHEST_DRAW, 0)).toBe(10_000);
  });

  it('waits at most an hour, however many attempts have failed', () => {
    // 10 s · 2^9 = 5120 s is past the hour: capped.
    expect(delayWith(HIGHEST_DRAW, 10)).toBe(HOUR);
    expect(delayWith(0, 10)).toBe(HOUR / 2);
    expect(delayWith(HIGHEST_DRAW, 1_000)).toBe(HOUR);
    expect(delayWith(0, 1_000)).toBe(HOUR / 2);
  });

  it('rounds to whole milliseconds', () => {
    expect(delayWith(0.123456789, 1, 1_001)).toBe(Math.round(1_001 * (0.5 + 0.123456789 / 2)));
    expect(Number.isInteger(delayWith(0.123456789, 1, 1_001))).toBe(true);
  });

  it('stays between half and all of the capped exponential over many real draws', () => {
    for (let failed = 1; failed <= 12; failed++) {
      const full = Math.min(HOUR, 10_000 * 2 ** (failed - 1));
      const delays = Array.from(
        { length: 500 },
        () => nextAttemptAt(NOW, NOW, failed, 10_000, 7 * DAY)!.getTime() - NOW.getTime(),
      );
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(full / 2);
      expect(Math.max(...delays)).toBeLessThanOrEqual(full);
    }
  });

  it('spreads retries out (jitter), so failed posts do not all come back at once', () => {
    const delays = new Set(Array.from({ length: 200 }, () => nextAttemptAt(NOW, NOW, 3, 10_000, DAY)!.getTime()));
    expect(delays.size).toBeGreaterThan(100);
  });
});

describe('nextAttemptAt: the horizon', () => {
  it('gives up (null) once the horizon has passed', () => {
    const since = new Date(NOW.getTime() - DAY - 1);
    expect(delayWith(0, 3, 10_000, DAY, since)).toBeNull();
  });

  it('gives up exactly at the horizon', () => {
    const since = new Date(NOW.getTime() - DAY);
    expect(delayWith(0, 3, 10_000, DAY, since)).toBeNull();
  });

  it('makes the last try at the horizon itself rather than past it', () => {
    // One minute of the horizon left, and a backoff of at least 30 minutes.
    const since = new Date(NOW.getTime() - DAY + MINUTE);
    expect(delayWith(0, 20, 10_000, DAY, since)).toBe(MINUTE);
    expect(delayWith(HIGHEST_DRAW, 20, 10_000, DAY, since)).toBe(MINUTE);
  });

  it('keeps the backoff when the horizon is further away', () => {
    const since = new Date(NOW.getTime() - HOUR);
    expect(delayWith(HIGHEST_DRAW, 2, 10_000, DAY, since)).toBe(20_000);
  });

  it('counts the horizon from the first attempt, not from now', () => {
    // A 1-hour horizon that started 59 minutes ago leaves one minute, whatever the backoff.
    const since = new Date(NOW.getTime() - 59 * MINUTE);
    expect(delayWith(HIGHEST_DRAW, 1, 10 * MINUTE, HOUR, since)).toBe(MINUTE);
  });
});
