import { afterEach, describe, expect, it, vi } from 'vitest';
import { retryDelayMs } from '../../../src/pipeline/dispatch/delivery-outcomes.js';

const DAY = 86_400_000;
// Just under 1: Math.random() never returns 1 itself.
const HIGHEST_DRAW = 1 - Number.EPSILON;

/** retryDelayMs with Math.random() returning `draw`. */
function delayWith(draw: number, baseMs: number, attempt: number, vendorAskedMs?: number): number {
  vi.spyOn(Math, 'random').mockReturnValue(draw);
  return retryDelayMs(baseMs, attempt, vendorAskedMs);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('retryDelayMs: the wait before a send is tried again', () => {
  it('waits between half and all of the base after the first attempt', () => {
    expect(delayWith(0, 30_000, 1)).toBe(15_000);
    expect(delayWith(0.5, 30_000, 1)).toBe(22_500);
    expect(delayWith(HIGHEST_DRAW, 30_000, 1)).toBe(30_000);
  });

  it('doubles with each attempt: base·2^(n−1)', () => {
    expect([1, 2, 3, 4, 5].map((n) => delayWith(HIGHEST_DRAW, 30_000, n))).toEqual([
      30_000, 60_000, 120_000, 240_000, 480_000,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => delayWith(0, 30_000, n))).toEqual([15_000, 30_000, 60_000, 120_000, 240_000]);
  });

  it('treats attempt 0 like attempt 1', () => {
    expect(delayWith(HIGHEST_DRAW, 30_000, 0)).toBe(30_000);
  });

  it('waits at most a day', () => {
    // 30 s · 2^12 = 34 hours: capped.
    expect(delayWith(HIGHEST_DRAW, 30_000, 13)).toBe(DAY);
    expect(delayWith(0, 30_000, 13)).toBe(DAY / 2);
    expect(delayWith(HIGHEST_DRAW, 30_000, 5_000)).toBe(DAY);
  });

  it('waits at least as long as the vendor asked', () => {
    expect(delayWith(0, 30_000, 1, 120_000)).toBe(120_000);
    // Even past the day's cap: the vendor's word wins.
    expect(delayWith(0, 30_000, 1, 2 * DAY)).toBe(2 * DAY);
  });

  it('keeps its own backoff when the vendor asked for less', () => {
    expect(delayWith(HIGHEST_DRAW, 30_000, 3, 1_000)).toBe(120_000);
    expect(delayWith(HIGHEST_DRAW, 30_000, 3, 0)).toBe(120_000);
  });

  it('stays between half and all of the capped exponential over many real draws', () => {
    for (let attempt = 1; attempt <= 15; attempt++) {
      const full = Math.min(DAY, 30_000 * 2 ** (attempt - 1));
      const delays = Array.from({ length: 500 }, () => retryDelayMs(30_000, attempt));
      expect(delays.every(Number.isInteger)).toBe(true);
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(full / 2);
      expect(Math.max(...delays)).toBeLessThanOrEqual(full);
    }
  });

  it('spreads retries out (jitter)', () => {
    const delays = new Set(Array.from({ length: 200 }, () => retryDelayMs(30_000, 4)));
    expect(delays.size).toBeGreaterThan(100);
  });
});
