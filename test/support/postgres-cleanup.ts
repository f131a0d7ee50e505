import pg from 'pg';

const TEST_DATABASE = /^herald_test_[0-9a-f]+$/;

/** The PostgreSQL databases this test file created and has not dropped. */
const created = new Set<string>();

/** Notes a database made by createPostgresDatabase(): it is dropped when the file ends. */
export function trackPostgresDatabase(name: string): void {
  created.add(name);
}

async function drop(name: string): Promise<void> {
  if (!TEST_DATABASE.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    // FORCE closes connections a stopped or killed Herald left behind.
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Drops a database made by createPostgresDatabase() now, rather than when the file ends. */
export async function dropPostgresDatabase(url: string | undefined): Promise<void> {
  if (!url || !process.env.TEST_DATABASE_URL) return;
  const name = new URL(url).pathname.slice(1);
  await drop(name);
  created.delete(name);
}

/** Where a kept database is, without the password of TEST_DATABASE_URL. */
function locationOf(name: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://localhost');
  url.password = '';
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * At the end of a test file: drops the databases it created, or, when a test in it failed, keeps them
 * for a post-mortem and says where they are (drop them by hand afterwards).
 */
export async function releasePostgresDatabases(options: { keep: boolean }): Promise<void> {
  const names = [...created];
  created.clear();
  if (names.length === 0) return;
  if (options.keep) {
    const list = names.map((name) => `  ${locationOf(name)}  (DROP DATABASE ${name};)`).join('\n');
    console.warn(`A test failed: kept its PostgreSQL database${names.length > 1 ? 's' : ''} for inspection:\n${list}`);
    return;
  }
  for (const name of names) await drop(name);
}
