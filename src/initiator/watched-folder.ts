import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { dispatches, uploads } from '../storage/schema.js';
import { isUuid } from '../storage/ids.js';
import { acceptUpload, cleanFileName, type AcceptUploadServices } from './accept-upload.js';
import { processingName } from './finish-upload-file.js';
import { initiatorLog } from './initiator-log.js';

export interface WatchedFolderServices extends AcceptUploadServices {
  readonly config: Config;
  readonly logger: Logger;
}

/** A feed's config.json, as the original module's (DispatchReqApi and other keys are ignored). */
interface FeedConfig {
  dispatchId: string;
  accountId: string;
  mapping: Record<string, string> | null;
  sheet: string | null;
}

type ConfigResult = { ok: true; config: FeedConfig } | { ok: false; problem: string };

const CONFIG_FILE = 'config.json';
const PROCESSING = 'processing';
const CLAIMED = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})--(.+)$/;

/** Files still being written by their program, or not files for Herald: left alone. */
const ignored = (name: string) =>
  name === CONFIG_FILE || name.startsWith('.') || name.startsWith('~$') || /\.(part|tmp|crdownload)$/i.test(name);

/** Case-insensitive key lookup, as the original read DispatchId / dispatchId. */
function field(object: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : object[key];
}

/**
 * The watched folder (HERALD_INITIATOR_DIR): one sub-folder per feed, each with a config.json naming
 * its dispatch. A file that appears in a feed and keeps its size and time for HERALD_INITIATOR_SETTLE_MS
 * is claimed by renaming it into the feed's processing/ folder (one process wins the rename, so
 * each file is taken once however many workers watch), recorded as an upload and processed like one;
 * when done it moves to archive/ with its rejected-rows report. A claimed file with no upload yet
 * (the process died in between) is recorded on the next scan.
 */
export class WatchedFolder {
  readonly #seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  /** Problems already logged, so a broken feed is reported once, not at every scan. */
  readonly #reported = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #stopped = false;

  constructor(private readonly services: WatchedFolderServices) {}

  get root(): string {
    const root = this.services.config.initiatorDir;
    if (!root) throw new Error('HERALD_INITIATOR_DIR is not set');
    return root;
  }

  start(): void {
    const tick = () => {
      this.#scanning = this.scan()
        .catch((error: unknown) => this.services.logger.error({ err: error }, 'scanning the watched folder failed'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.services.config.initiatorPollMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#scanning;
  }

  /** One look at every feed. */
  async scan(): Promise<void> {
    const feeds = await fs.readdir(this.root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      this.#reportOnce('', `the watched folder ${this.root} cannot be read (${error.code ?? error.message})`);
      return [];
    });
    for (const feed of feeds) {
      if (feed.isDirectory() && !feed.name.startsWith('.')) await this.#scanFeed(feed.name);
    }
  }

  async #scanFeed(feed: string): Promise<void> {
    const dir = path.join(this.root, feed);
    const claimed = await fs.readdir(path.join(dir, PROCESSING)).catch(() => [] as string[]);
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const waiting = entries.filter((e) => e.isFile() && !ignored(e.name)).map((e) => e.name);
    const orphans = await this.#orphans(claimed);
    if (waiting.length === 0 && orphans.length === 0) return;

    const result = await this.#readConfig(dir);
    if (!result.ok) {
      this.#reportOnce(feed, result.problem);
      return;
    }
    this.#reported.delete(feed);
    for (const { id, name } of orphans) await this.#record(feed, result.config, id, name);
    for (const name of waiting) {
      if (!(await this.#settled(path.join(dir, name)))) continue;
      const id = randomUUID();
      const fileName = cleanFileName(name);
      await fs.mkdir(path.join(dir, PROCESSING), { recursive: true });
      try {
        await fs.rename(path.join(dir, name), path.join(dir, PROCESSING, processingName(id, fileName)));
      } catch (error) {
        // Another process took it first (or it was removed): not ours.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      this.#seen.delete(path.join(dir, name));
      await this.#record(feed, result.config, id, fileName);
    }
  }

  /** Files in processing/ that no upload records: their process died between the claim and the record. */
  async #orphans(claimed: string[]): Promise<{ id: string; name: string }[]> {
    const found: { id: string; name: string }[] = [];
    for (const file of claimed) {
      const match = CLAIMED.exec(file);
      if (!match) continue;
      const [, id, name] = match as unknown as [string, string, string];
      const [row] = await this.services.database.db.select({ id: uploads.id }).from(uploads).where(eq(uploads.id, id));
      if (!row) found.push({ id, name });
    }
    return found;
  }

  async #record(feed: string, config: FeedConfig, id: string, fileName: string): Promise<void> {
    const storedPath = path.join(this.root, feed, PROCESSING, processingName(id, fileName));
    const upload = await acceptUpload(
      this.services,
      {
        id,
        accountId: config.accountId,
        dispatchId: config.dispatchId,
        fileName,
        storedPath,
        source: 'folder',
        feed,
        sheet: config.sheet,
        mapping: config.mapping,
        entries: [initiatorLog.configRetrieved(), initiatorLog.configCorrect()],
      },
      { takeUnreadable: true },
    );
    this.services.logger.info({ feed, uploadId: upload.id }, 'took a file from the watched folder');
  }

  /** True once a file has kept its size and time for the settle time (its writer has finished). */
  async #settled(file: string): Promise<boolean> {
    const stat = await fs.stat(file).catch(() => null);
    if (!stat) return false;
    const now = Date.now();
    const before = this.#seen.get(file);
    if (!before || before.size !== stat.size || before.mtimeMs !== stat.mtimeMs) {
      this.#seen.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, since: now });
      return false;
    }
    return now - before.since >= this.services.config.initiatorSettleMs;
  }

  async #readConfig(dir: string): Promise<ConfigResult> {
    let text: string;
    try {
      text = await fs.readFile(path.join(dir, CONFIG_FILE), 'utf8');
    } catch (error) {
      return {
        ok: false,
        problem: initiatorLog.configNotRetrieved((error as NodeJS.ErrnoException).code ?? String(error)).message,
      };
    }
    if (text.trim() === '') return { ok: false, problem: initiatorLog.configEmpty().message };
    const incorrect = (reason: string): ConfigResult => ({
      ok: false,
      problem: initiatorLog.configIncorrect(reason).message,
    });
    let json: unknown;
    try {
      json = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      return incorrect(`it is not JSON: ${(error as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return incorrect('it must be a JSON object');
    const object = json as Record<string, unknown>;
    const dispatchId = field(object, 'DispatchId');
    if (typeof dispatchId !== 'string' || !isUuid(dispatchId.trim())) {
      return incorrect('"DispatchId" must be the id of a dispatch');
    }
    const mapping = field(object, 'Mapping') ?? null;
    if (
      mapping !== null &&
      (typeof mapping !== 'object' ||
        Array.isArray(mapping) ||
        !Object.values(mapping).every((v) => typeof v === 'string'))
    ) {
      return incorrect('"Mapping" must be an object of header → question id or text');
    }
    const sheet = field(object, 'Sheet') ?? null;
    if (sheet !== null && typeof sheet !== 'string') return incorrect('"Sheet" must be the name of a sheet');
    const id = dispatchId.trim().toLowerCase();
    const [owner] = await this.services.database.db
      .select({ accountId: dispatches.accountId })
      .from(dispatches)
      .where(eq(dispatches.id, id));
    if (!owner)
      return {
        ok: false,
        problem: initiatorLog.unknownDispatch({ source: 'folder', feed: path.basename(dir) }).message,
      };
    return {
      ok: true,
      config: { dispatchId: id, accountId: owner.accountId, mapping: mapping as Record<string, string> | null, sheet },
    };
  }

  /** A problem no account can be told of (the feed names no dispatch of one): the process log, once. */
  #reportOnce(feed: string, problem: string): void {
    if (this.#reported.get(feed) === problem) return;
    this.#reported.set(feed, problem);
    this.services.logger.warn({ feed, problem }, 'the watched folder cannot take files from this feed');
  }
}
