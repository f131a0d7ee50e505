import { describe, expect, it } from 'vitest';
import { TokenRuns, type TokenRunEnd } from '../../src/pipeline/tokens/token-runs.js';

/** A run's work that ends only when the test says how. */
function controlledWork() {
  const calls: ((end: TokenRunEnd) => void)[] = [];
  const work = () => new Promise<TokenRunEnd>((resolve) => calls.push(resolve));
  return { calls, work };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('token runs, one per dispatch', () => {
  it('hands a second job for a running dispatch to its run, which goes round once more before ending idle', async () => {
    const runs = new TokenRuns();
    const { calls, work } = controlledWork();
    const first = runs.run('dispatch-a', work);
    await settle();
    expect(calls).toHaveLength(1);

    // Two more jobs arrive while the run works: they return at once, and the run owes one more round.
    await runs.run('dispatch-a', work);
    await runs.run('dispatch-a', work);
    expect(calls).toHaveLength(1);

    calls[0]!('idle');
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]!('idle');
    await first;
    expect(calls).toHaveLength(2);
  });

  it('ends without another round when a queued job carries on, and a later job runs itself', async () => {
    const runs = new TokenRuns();
    const { calls, work } = controlledWork();
    const first = runs.run('dispatch-a', work);
    await settle();
    await runs.run('dispatch-a', work);
    calls[0]!('continued');
    await first;
    expect(calls).toHaveLength(1);

    const later = runs.run('dispatch-a', work);
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]!('idle');
    await later;
  });

  it('runs different dispatches side by side, and frees a dispatch whose run failed', async () => {
    const runs = new TokenRuns();
    const { calls, work } = controlledWork();
    const a = runs.run('dispatch-a', work);
    const b = runs.run('dispatch-b', work);
    await settle();
    expect(calls).toHaveLength(2);
    calls[0]!('idle');
    calls[1]!('idle');
    await Promise.all([a, b]);

    await expect(runs.run('dispatch-a', () => Promise.reject(new Error('platform down')))).rejects.toThrow(
      'platform down',
    );
    const retried = runs.run('dispatch-a', work);
    await settle();
    expect(calls).toHaveLength(3);
    calls[2]!('idle');
    await retried;
  });
});
