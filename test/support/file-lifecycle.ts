/**
 * Runs in every test file (vitest.config.ts `setupFiles`). When the file ends — after its own
 * afterAll hooks — it stops whatever the file started and has not stopped (Heralds, servers, CLI
 * processes), then drops the PostgreSQL databases the file created, or keeps them when a test failed.
 */
import { afterAll, type RunnerTask } from 'vitest';
import { releasePostgresDatabases } from './postgres-cleanup.js';
import { stopEverything } from './teardown.js';

function failed(task: Readonly<RunnerTask>): boolean {
  if (task.result?.state === 'fail') return true;
  return 'tasks' in task && task.tasks.some(failed);
}

afterAll(async (file) => {
  const failures = await stopEverything();
  await releasePostgresDatabases({ keep: failures.length > 0 || failed(file) });
  if (failures.length > 0) throw new AggregateError(failures, 'stopping what the test file started failed');
});
