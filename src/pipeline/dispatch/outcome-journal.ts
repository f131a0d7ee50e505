import fs from 'node:fs';
import type { ExperiencePlatform } from '../../platforms/experience-platform.js';
import type { Database } from '../../storage/database.js';
import type { Clock } from '../../clock.js';
import { fallbackDefinitions } from '../scheduling/channel-fallback.js';
import { permanentFailuresOf, recordOutcomes, type Outcome, type OutcomeMessage } from './record-outcomes.js';

/** Rewrites the journal without its committed entries once it is larger than this. */
const COMPACT_AT_BYTES = 4 * 1024 * 1024;

/**
 * A file in the embedded data directory where each vendor's answer is written the moment it
 * arrives, before the database commit that records it. A write to a file survives `kill -9` (the
 * kernel holds it), and costs microseconds where a commit costs milliseconds: the send window can
 * close on the journal write, and database commits can group many outcomes. At start, before any
 * message is claimed, the outcomes of the messages still `sending` are recorded from it.
 *
 * Only for the embedded database, whose data directory one process owns. Not synced: after an OS
 * crash the journal may miss its last writes, and those messages are sent again (at-least-once).
 */
export class OutcomeJournal {
  #fd: number;
  #bytes = 0;
  /** Journaled and not yet committed: message id → its line. */
  readonly #uncommitted = new Map<string, string>();

  constructor(readonly file: string) {
    this.#fd = fs.openSync(file, 'a');
    this.#bytes = fs.fstatSync(this.#fd).size;
  }

  /** Appends one outcome (one write): it survives a kill of this process from now on. */
  append(outcome: Outcome): void {
    // What recording needs of the message: no content, and the target only as stored (hashed when PII).
    const { id, account_id, invitation_id, dispatch_id, channel, reminder_level, attempts, target } = outcome.claimed;
    const claimed: OutcomeMessage = {
      id,
      account_id,
      invitation_id,
      dispatch_id,
      channel,
      reminder_level,
      attempts,
      target,
    };
    const line = `${JSON.stringify({ ...outcome, claimed })}\n`;
    fs.writeSync(this.#fd, line);
    this.#bytes += Buffer.byteLength(line);
    this.#uncommitted.set(outcome.claimed.id, line);
  }

  /** Marks outcomes committed to the database; empties or compacts the file when it can. */
  committed(messageIds: Iterable<string>): void {
    for (const id of messageIds) this.#uncommitted.delete(id);
    if (this.#uncommitted.size === 0) {
      fs.ftruncateSync(this.#fd, 0);
      this.#bytes = 0;
    } else if (this.#bytes > COMPACT_AT_BYTES) {
      const kept = [...this.#uncommitted.values()].join('');
      const next = `${this.file}.next`;
      fs.writeFileSync(next, kept);
      fs.renameSync(next, this.file);
      fs.closeSync(this.#fd);
      this.#fd = fs.openSync(this.file, 'a');
      this.#bytes = Buffer.byteLength(kept);
    }
  }

  /** Empties the file (after its entries were recorded at start). */
  clear(): void {
    this.#uncommitted.clear();
    fs.ftruncateSync(this.#fd, 0);
    this.#bytes = 0;
  }

  close(): void {
    fs.closeSync(this.#fd);
  }

  /** The outcomes in `file`, oldest first; a line torn by a kill mid-write is skipped. */
  static read(file: string): Outcome[] {
    if (!fs.existsSync(file)) return [];
    const outcomes: Outcome[] = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        outcomes.push(revive(JSON.parse(line) as Outcome));
      } catch {
        // The last line of a process killed mid-write: its message is sent again.
      }
    }
    return outcomes;
  }
}

/** Dates come back from JSON as strings. */
function revive(outcome: Outcome): Outcome {
  switch (outcome.kind) {
    case 'sent':
      return { ...outcome, nextReminderAt: outcome.nextReminderAt ? new Date(outcome.nextReminderAt) : null };
    case 'retry':
    case 'defer':
      return { ...outcome, dueAt: new Date(outcome.dueAt) };
    default:
      return outcome;
  }
}

/**
 * Records journaled outcomes of messages still `sending` in the claim they were sent in (same
 * attempt count): run at start, before anything is claimed. Returns how many it recorded.
 */
export async function recordJournaledOutcomes(
  services: { readonly database: Database; readonly platform: ExperiencePlatform; readonly clock: Clock },
  journaled: readonly Outcome[],
): Promise<number> {
  if (journaled.length === 0) return 0;
  const { database, platform, clock } = services;
  const open = await database.sql.query<{ id: string; attempts: number }>(
    `SELECT id, attempts FROM messages WHERE id = ANY($1::uuid[]) AND status = 'sending'`,
    [journaled.map((o) => o.claimed.id)],
  );
  const attemptsOf = new Map(open.map((m) => [m.id, m.attempts]));
  const outcomes = journaled.filter((o) => attemptsOf.get(o.claimed.id) === o.claimed.attempts);
  if (outcomes.length === 0) return 0;
  const fallback = await fallbackDefinitions(platform, permanentFailuresOf(outcomes));
  await database.transaction((tx) => recordOutcomes(tx.sql, outcomes, clock.now(), fallback));
  return outcomes.length;
}
