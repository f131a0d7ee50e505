import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type StoreKind = 'pglite' | 'postgres';

/** One fresh database for one Herald process: a new PGlite data directory, or a new PostgreSQL database. */
export interface Store {
  readonly kind: StoreKind;
  /** Environment that points Herald at it. */
  readonly env: Record<string, string>;
  /** The --data-dir to give Herald (embedded only). */
  readonly dataDir: string | undefined;
  /** The database's own URL (PostgreSQL only). */
  readonly url: string | undefined;
  drop(): Promise<void>;
}

let counter = 0;

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * With `serverUrl` (DATABASE_URL), creates `herald_bench_<pid>_<n>` on that server and drops it
 * afterwards; without, a new directory under `tmp`.
 */
export async function freshStore(serverUrl: string | undefined, tmp: string, label: string): Promise<Store> {
  counter += 1;
  if (!serverUrl) {
    const dataDir = path.join(tmp, `herald-${label}-${counter}`);
    fs.mkdirSync(dataDir, { recursive: true });
    return {
      kind: 'pglite',
      env: {},
      dataDir,
      url: undefined,
      async drop() {
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `herald_bench_${process.pid}_${counter}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url },
    dataDir: undefined,
    url,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The floor's own connection: raw SQL, nothing else. */
export interface FloorDb {
  query(text: string, params?: unknown[]): Promise<void>;
  /** `COPY target FROM STDIN` with `data` in COPY's text format. */
  copy(target: string, data: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * For PostgreSQL, a plain `pg` client on Herald's own bench database. For PGlite, a separate PGlite
 * instance on disk in the driver process (one process owns a data directory, so the floor cannot
 * share Herald's): the same engine, storage and build, with nothing of Herald in between.
 */
export async function openFloorDb(store: Store, tmp: string): Promise<FloorDb> {
  if (store.url) {
    const client = new pg.Client({ connectionString: store.url });
    await client.connect();
    return {
      async query(text, params) {
        await client.query(text, params);
      },
      async copy(target, data) {
        await pipeline(Readable.from([data]), client.query(copyFrom(`COPY ${target} FROM STDIN`)));
      },
      close: () => client.end(),
    };
  }
  const dir = path.join(tmp, `floor-pglite-${process.pid}`);
  const client = await PGlite.create({ dataDir: dir });
  return {
    async query(text, params) {
      await client.query(text, params);
    },
    async copy(target, data) {
      // PGlite's COPY reads a blob handed over as /dev/blob (COPY FROM STDIN is not supported).
      await client.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob([data]) });
    },
    async close() {
      await client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
