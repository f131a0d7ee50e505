import type { BenchContext } from './context.js';
import { startHerald, type HeraldProcess } from './processes.js';
import { createAccountAndKey, seedPlatform, type Platform, type SeedOptions } from './seed.js';
import { freshStore, type Store } from './storage.js';

/** A Herald process on its own fresh database, with an admin key and the platform seeded. */
export interface BenchHerald {
  store: Store;
  key: string;
  herald: HeraldProcess;
  platform: Platform;
}

/**
 * Runs `work` against a Herald (`command`: `api` or `serve`) on a fresh database, then stops it and
 * drops the database, whatever `work` did.
 */
export async function withBenchHerald<T>(
  ctx: BenchContext,
  label: string,
  command: 'api' | 'serve',
  work: (bench: BenchHerald) => Promise<T>,
  seedOptions: SeedOptions = {},
): Promise<T> {
  const store = await freshStore(ctx.databaseUrl, ctx.tmp, label);
  try {
    const key = await createAccountAndKey(ctx.main, store, ctx.heraldEnv);
    const herald = await startHerald({
      main: ctx.main,
      command,
      env: { ...ctx.heraldEnv, ...store.env },
      dataDir: store.dataDir,
      nodeOptions: ctx.heraldNodeOptions,
    });
    try {
      const platform = await seedPlatform(herald.url, key, ctx.sink.smtpPort, seedOptions);
      return await work({ store, key, herald, platform });
    } finally {
      await herald.stop();
    }
  } finally {
    await store.drop();
  }
}
