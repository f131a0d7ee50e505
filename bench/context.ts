import type { SinkProcess } from './processes.js';

/** What every benchmark step shares. */
export interface BenchContext {
  /** Herald's CLI entry point (a private build). */
  readonly main: string;
  /** Scratch space for data directories; removed at the end. */
  readonly tmp: string;
  /** The PostgreSQL server to create bench databases on; embedded PGlite when undefined. */
  readonly databaseUrl: string | undefined;
  /** HERALD_* settings every Herald process of the run gets. */
  readonly heraldEnv: Record<string, string>;
  readonly sink: SinkProcess;
  /** Extra node options for the Herald child, e.g. --cpu-prof (profiling runs only). */
  readonly heraldNodeOptions: string[];
  log(line: string): void;
}
