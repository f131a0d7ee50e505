import { InvalidArgumentError, type Command } from 'commander';
import { createAccount, findAccountBySlug } from '../accounts/accounts.js';
import { createApiKey } from '../accounts/api-keys.js';
import { createUser } from '../accounts/users.js';
import { loadConfig } from '../config/config.js';
import { JobQueue } from '../jobs/job-queue.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { Database } from '../storage/database.js';
import { openDatabase } from '../storage/open-database.js';
import { roles, type Role } from '../storage/schema.js';
import { storageOptions } from './options.js';

/** Opens and migrates storage, runs `work`, prints its result as JSON, closes storage. */
async function withDatabase(
  command: string,
  dataDir: string | undefined,
  work: (database: Database) => Promise<unknown>,
) {
  const database = await openDatabase(loadConfig(process.env, { dataDir }), command);
  try {
    await database.migrate();
    process.stdout.write(`${JSON.stringify(await work(database), null, 2)}\n`);
  } finally {
    await database.close();
  }
}

function parseRole(value: string): Role {
  if (!(roles as readonly string[]).includes(value))
    throw new Error(`--role must be one of ${roles.join(', ')} (got "${value}")`);
  return value as Role;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidArgumentError('a positive whole number');
  return limit;
}

export function adminCommands(program: Command): void {
  const account = program.command('account').description('manage accounts');
  account
    .command('create')
    .description('create an account')
    .requiredOption('--slug <slug>', 'short unique name: lower-case letters, digits, dashes')
    .requiredOption('--name <name>', 'display name')
    .addOption(storageOptions.dataDir())
    .action((o: { slug: string; name: string; dataDir?: string }) =>
      withDatabase('account create', o.dataDir, (d) => createAccount(d.db, { slug: o.slug, name: o.name })),
    );

  const user = program.command('user').description('manage users');
  user
    .command('create')
    .description(
      'create a user who can sign in with POST /api/LoginToken (password from HERALD_NEW_PASSWORD or --password)',
    )
    .requiredOption('--account <slug>', 'the account the user belongs to')
    .requiredOption('--username <name>', 'unique sign-in name')
    .option('--password <password>', 'the password (prefer HERALD_NEW_PASSWORD: arguments show in process lists)')
    .option('--role <role>', `one of ${roles.join(', ')}`, parseRole, 'operator' as Role)
    .addOption(storageOptions.dataDir())
    .action((o: { account: string; username: string; password?: string; role: Role; dataDir?: string }) =>
      withDatabase('user create', o.dataDir, async (d) => {
        const password = o.password ?? process.env.HERALD_NEW_PASSWORD;
        if (!password) throw new Error('give the password in HERALD_NEW_PASSWORD or with --password');
        const { id } = await findAccountBySlug(d.db, o.account);
        return createUser(d.db, { accountId: id, username: o.username, password, role: o.role });
      }),
    );

  const apiKey = program.command('api-key').description('manage API keys');
  apiKey
    .command('create')
    .description('create an API key; the key is printed once and never again')
    .requiredOption('--account <slug>', 'the account the key belongs to')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--role <role>', `one of ${roles.join(', ')}`, parseRole, 'operator' as Role)
    .addOption(storageOptions.dataDir())
    .action((o: { account: string; name: string; role: Role; dataDir?: string }) =>
      withDatabase('api-key create', o.dataDir, async (d) => {
        const { id } = await findAccountBySlug(d.db, o.account);
        return createApiKey(d.db, { accountId: id, name: o.name, role: o.role });
      }),
    );

  program
    .command('dead-letters')
    .description('list background jobs that failed after every retry')
    .option('--limit <n>', 'how many, newest first', parseLimit, 100)
    .addOption(storageOptions.dataDir())
    .action((o: { limit: number; dataDir?: string }) =>
      withDatabase('dead-letters', o.dataDir, async (d) => {
        // The queue's tables appear when serve, api or worker first starts; until then nothing failed.
        const [queueTable] = await d.sql.query<{ relation: string | null }>(
          `SELECT to_regclass('pgboss.job')::text AS relation`,
        );
        if (!queueTable?.relation) return [];
        const config = loadConfig(process.env, { dataDir: o.dataDir });
        const queue = new JobQueue(d, config, createMetrics(), createLogger('silent'));
        return queue.deadLetters({ limit: o.limit });
      }),
    );
}
