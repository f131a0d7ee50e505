import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './processes.js';

export interface EventsResult {
  /** Events delivered per second to a local webhook receiver; null while Herald cannot deliver events. */
  perSecond: number | null;
  note: string;
}

/**
 * Events delivered per second to a local webhook receiver. Herald's events-out pipeline
 * (src/pipeline/events-out/) does not exist yet, so there is nothing to measure: the result says so
 * instead of inventing a number. Measure it here once webhooks can be subscribed to.
 */
export function benchEvents(): EventsResult {
  const pipeline = path.join(repoRoot, 'src', 'pipeline', 'events-out');
  if (!fs.existsSync(pipeline))
    return { perSecond: null, note: 'not available: Herald does not deliver events yet (no src/pipeline/events-out/)' };
  return {
    perSecond: null,
    note: 'not measured: src/pipeline/events-out/ exists but this benchmark does not drive it yet',
  };
}
