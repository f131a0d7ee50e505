import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` next to `base` (an `import.meta.url`): the compiled
 * `.js`, or — running from the sources (vitest, tsx) — the `.ts` through tsx. On Node 20 tsx
 * registers itself on the main thread only (`--import tsx` does nothing in a worker), so the worker
 * calls its API first; 'tsx' resolves from the working directory, the repository's.
 *
 * @example startThread(import.meta.url, 'smtp-thread') // ./smtp-thread.js (or .ts) in a worker
 */
export function startThread(base: string, name: string): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base));
  const entry = JSON.stringify(new URL(`./${name}.ts`, base).href);
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`;
  return new Worker(code, { eval: true });
}
