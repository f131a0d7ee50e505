import type { Command } from 'commander';
import { loadConfig, type ConfigOverrides } from '../config/config.js';
import { startHerald, type Roles } from '../herald.js';
import { openDatabase } from '../storage/open-database.js';
import { storageOptions } from './options.js';

interface RunOptions {
  port?: number;
  dataDir?: string;
}

const overrides = (o: RunOptions): ConfigOverrides => ({ port: o.port, dataDir: o.dataDir });

async function run(command: string, roles: Roles, options: RunOptions): Promise<void> {
  const config = loadConfig(process.env, overrides(options));
  const herald = await startHerald(config, roles, command);
  const where =
    herald.database.mode === 'embedded'
      ? `embedded PostgreSQL (PGlite) in ${herald.database.location}`
      : `PostgreSQL at ${herald.database.location}`;
  process.stdout.write(
    `herald ${command}: data in ${where}${herald.url ? `; API on ${herald.url} (docs at ${herald.url}/docs)` : ''}${roles.workers ? '; workers running' : ''}\n`,
  );
  const shutdown = (signal: string) => {
    herald.logger.info({ signal }, 'shutting down');
    herald.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        herald.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

export function runCommands(program: Command): void {
  const variants: [string, Roles, string][] = [
    ['serve', { api: true, workers: true }, 'run the API and the workers in one process'],
    ['api', { api: true, workers: false }, 'run the API only (scale out: many API processes against one PostgreSQL)'],
    [
      'worker',
      { api: false, workers: true },
      'run the workers only (scale out: many worker processes against one PostgreSQL)',
    ],
  ];
  for (const [name, roles, description] of variants) {
    program
      .command(name)
      .description(description)
      .addOption(storageOptions.port())
      .addOption(storageOptions.dataDir())
      .action((options: RunOptions) => run(name, roles, options));
  }

  program
    .command('migrate')
    .description('apply database migrations and exit (serve, api and worker also migrate at start)')
    .addOption(storageOptions.dataDir())
    .action(async (options: RunOptions) => {
      const config = loadConfig(process.env, overrides(options));
      const database = await openDatabase(config, 'migrate');
      try {
        await database.migrate();
        process.stdout.write(`migrated ${database.mode} database at ${database.location}\n`);
      } finally {
        await database.close();
      }
    });
}
