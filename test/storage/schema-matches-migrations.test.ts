import fs from 'node:fs';
import path from 'node:path';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable, type PgColumn } from 'drizzle-orm/pg-core';
import { afterAll, describe, expect, it } from 'vitest';
import * as schema from '../../src/storage/schema.js';
import { repoRoot, runCli } from '../support/cli.js';
import type { Database } from '../../src/storage/database.js';
import { databaseKinds, openTestDatabase } from '../support/databases.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';

afterAll(removeTempDirs);

interface ColumnInfo {
  table_name: string;
  column_name: string;
  is_nullable: 'YES' | 'NO';
  data_type: string;
  column_default: string | null;
  is_identity: 'YES' | 'NO';
}

const tables = Object.values(schema as Record<string, unknown>)
  .filter((value): value is PgTable => is(value, PgTable))
  .map((table) => getTableConfig(table))
  .filter((table) => (table.schema ?? 'public') === 'public');

/** What information_schema.columns.data_type says for drizzle's SQL type (roughly: no lengths or precisions). */
function expectedDataType(column: PgColumn): string {
  const sqlType = column.getSQLType().toLowerCase();
  if (sqlType.endsWith('[]')) return 'ARRAY';
  if (column.columnType === 'PgEnumColumn') return 'USER-DEFINED';
  const base = sqlType.replace(/\s*\([^)]*\)/g, '').trim();
  const aliases: Record<string, string> = {
    serial: 'integer',
    bigserial: 'bigint',
    smallserial: 'smallint',
    int: 'integer',
    int4: 'integer',
    int8: 'bigint',
    int2: 'smallint',
    varchar: 'character varying',
    char: 'character',
    decimal: 'numeric',
    timestamp: 'timestamp without time zone',
    timestamptz: 'timestamp with time zone',
    time: 'time without time zone',
    float8: 'double precision',
    float4: 'real',
    bool: 'boolean',
  };
  return aliases[base] ?? base;
}

function hasDatabaseDefault(column: PgColumn): boolean {
  return (
    column.default !== undefined ||
    /serial$/.test(column.getSQLType()) ||
    (column as { generatedIdentity?: unknown }).generatedIdentity !== undefined
  );
}

/** How the migrated database differs from schema.ts, in words. */
async function schemaProblems(db: Database): Promise<string[]> {
  const columns = await db.sql.query<ColumnInfo>(
    `SELECT table_name, column_name, is_nullable, data_type, column_default, is_identity
     FROM information_schema.columns WHERE table_schema = 'public'`,
  );
  const problems: string[] = [];
  for (const table of tables) {
    const actual = new Map(columns.filter((c) => c.table_name === table.name).map((c) => [c.column_name, c]));
    const inCompositeKey = new Set(table.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)));
    const declared = table.columns.map((c) => c.name);
    const extra = [...actual.keys()].filter((name) => !declared.includes(name));
    if (extra.length > 0) problems.push(`${table.name}: columns not in schema.ts: ${extra.join(', ')}`);
    for (const column of table.columns) {
      const where = `${table.name}.${column.name}`;
      const info = actual.get(column.name);
      if (!info) {
        problems.push(`${where}: missing from the database`);
        continue;
      }
      const notNull = column.notNull || column.primary || inCompositeKey.has(column.name);
      if ((info.is_nullable === 'NO') !== notNull) {
        problems.push(
          `${where}: schema.ts says ${notNull ? 'NOT NULL' : 'nullable'}, the database ${info.is_nullable === 'NO' ? 'NOT NULL' : 'nullable'}`,
        );
      }
      const type = expectedDataType(column);
      if (info.data_type !== type) problems.push(`${where}: schema.ts type ${type}, the database ${info.data_type}`);
      const hasDefault = info.column_default !== null || info.is_identity === 'YES';
      if (hasDefault !== hasDatabaseDefault(column)) {
        problems.push(`${where}: default in schema.ts ${hasDatabaseDefault(column)}, in the database ${hasDefault}`);
      }
    }
  }
  return problems;
}

describe('schema.ts', () => {
  it('declares tables (the checks below are not vacuous)', () => {
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['accounts', 'users', 'api_keys', 'access_tokens']),
    );
  });
});

describe.each(databaseKinds())('the migrated %s database matches schema.ts', (kind) => {
  it('has every table and column of schema.ts, with the same nullability, type and default, and nothing else', async () => {
    const test = await openTestDatabase(kind);
    try {
      const db = test.database;
      const actualTables = await db.sql.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      expect(actualTables.map((t) => t.table_name).sort()).toEqual(tables.map((t) => t.name).sort());

      expect(await schemaProblems(db)).toEqual([]);

      // The comparison does see a drift (on this throw-away database).
      await db.execScript(
        `ALTER TABLE users ADD COLUMN nickname text; ALTER TABLE users ALTER COLUMN username DROP NOT NULL;`,
      );
      const drift = await schemaProblems(db);
      expect(drift).toContain('users: columns not in schema.ts: nickname');
      expect(drift).toContain('users.username: schema.ts says NOT NULL, the database nullable');

      // Every numbered migration was applied.
      const journal = JSON.parse(fs.readFileSync(path.join(repoRoot, 'drizzle/meta/_journal.json'), 'utf8')) as {
        entries: unknown[];
      };
      const [applied] = await db.sql.query<{ n: string | number }>(`SELECT count(*) AS n FROM herald_meta.migrations`);
      expect(Number(applied?.n)).toBe(journal.entries.length);
    } finally {
      await test.database.close();
    }
  });
});

describe('drizzle/', () => {
  it('holds every change of schema.ts: drizzle-kit generate finds nothing to migrate', async () => {
    const out = makeTempDir('herald-drizzle-');
    fs.cpSync(path.join(repoRoot, 'drizzle'), out, { recursive: true });
    const before = fs.readdirSync(out).sort();
    // drizzle-kit resolves --out against the working directory even when it is absolute.
    const result = await runCli(
      [
        'generate',
        '--dialect',
        'postgresql',
        '--schema',
        './src/storage/schema.ts',
        '--out',
        path.relative(repoRoot, out),
      ],
      { script: path.join(repoRoot, 'node_modules/drizzle-kit/bin.cjs'), cwd: repoRoot },
    );
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.code, output).toBe(0);
    expect(output).toContain('No schema changes');
    expect(fs.readdirSync(out).sort()).toEqual(before);
    expect(before.filter((f) => f.endsWith('.sql')).length).toBeGreaterThan(0);
  });
});
