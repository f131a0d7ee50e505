import fs from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';

/** What this file touches of Emscripten's NODEFS (PGlite's Node file system). */
interface NodeFsModule {
  NODEFS: { stream_ops: { fsync?: (stream: { nfd?: number }) => number } };
}

type InitOptions = Parameters<NodeFS['init']>[1];

/**
 * PGlite's Node file system with a working `fsync`. Emscripten's NODEFS has no `fsync` stream
 * operation, so PostgreSQL's `fsync()` calls (its WAL flush on commit with
 * `wal_sync_method=fsync`, the checkpoint's flush of data files) returned success without reaching
 * the disk. This adds one that calls `fsync(2)` on the file's real descriptor.
 */
export class DurableNodeFS extends NodeFS {
  override async init(pg: PGlite, options: InitOptions): Promise<{ emscriptenOpts: InitOptions }> {
    const { emscriptenOpts } = await super.init(pg, options);
    const addFsync = (module: NodeFsModule) => {
      module.NODEFS.stream_ops.fsync = (stream) => {
        if (stream.nfd !== undefined) fs.fsyncSync(stream.nfd);
        return 0;
      };
    };
    // Before the mount that NodeFS adds: files opened from then on get the operation.
    return { emscriptenOpts: { ...emscriptenOpts, preRun: [addFsync, ...(emscriptenOpts.preRun ?? [])] } };
  }
}

/**
 * PGlite's start parameters for durable commits: its defaults run PostgreSQL with `-F` (fsync
 * off); without it, and with the WAL flushed by `fsync()` (the call DurableNodeFS implements;
 * `fdatasync` stays a no-op in PGlite), a commit returns once its WAL is on disk.
 */
export function durableStartParams(defaults: readonly string[]): string[] {
  return [...defaults.filter((p) => p !== '-F'), '-c', 'fsync=on', '-c', 'wal_sync_method=fsync'];
}
