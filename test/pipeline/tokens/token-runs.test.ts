import { describe, expect, it } from 'vitest';
import { TokenRuns } from '../../../src/pipeline/tokens/token-runs.js';

/** Work that a test ends by hand, each call with the release it was given. */
function controlledWork() {
  const calls: { release: () => void; end: (error?: Error) => void }[] = [];
  const work = (release: () => void) =>
    new Promise<void>((resolve, reject) =>
      calls.push({ release, end: (error) => (error ? reject(error) : resolve()) }),
    );
  return { calls, work };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('token runs, one per dispatch', () => {
  it('hands later jobs for a running dispatch to its run, which goes round once more before it ends', async () => {
    const runs = new TokenRuns();
    const { calls, work } = controlledWork();
    const first = runs.run('dispatch-a', work);
    await settle();
    expect(calls).toHaveLength(1);

    // Two more jobs arrive while the run works: they return at once, and the run owes one more round.
    await runs.run('dispatch-a', work);
    await runs.run('dispatch-a', work);
    expect(calls).toHaveLength(1);

    calls[0]!.end();
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]!.end();
    await first;
    expect(calls).toHaveLength(2);
  });

  it('lets a run that queues a job to carry on release the dispatch: jobs after that run themselves', async () => {
    const runs = new TokenRuns();
    const { calls, work } = controlledWork();
    const first = runs.run('dispatch-a', work);
    await settle();
    await runs.run('dispatch-a', work); // handed to the run
    calls[0]!.release();

    // The queued job arrives before the releasing run has ended: it runs, not handed back.
    const next = runs.run('dispatch-a', work);
    await settle();
    expect(calls).toHaveLength(2);
    calls[0]!.end();
    await first;
    // Released, the first run does not go round again for the job handed to it: the queued one covers it.
    expect(calls).toHaveLength(2);
    calls[1]!.end();
    await next;
  });

  it('runs different dispatches side by side, and frees a dispatch whose run failed', async () => {
    const runs = new TokenRuns();
    const { calls, work } = controlledWork();
    const a = runs.run('dispatch-a', work);
    const b = runs.run('dispatch-b', work);
    await settle();
    expect(calls).toHaveLength(2);
    calls[0]!.end(new Error('platform down'));
    calls[1]!.end();
    await expect(a).rejects.toThrow('platform down');
    await b;

    const retried = runs.run('dispatch-a', work);
    await settle();
    expect(calls).toHaveLength(3);
    calls[2]!.end();
    await retried;
  });
});
