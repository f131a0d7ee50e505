import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopAtEndOfFile } from './teardown.js';

const created: string[] = [];

/** A new empty directory under the system temp dir, removed by removeTempDirs() or when the test file ends. */
export function makeTempDir(prefix = 'herald-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  stopAtEndOfFile(removeTempDirs);
  created.push(dir);
  return dir;
}

/** Removes every directory makeTempDir() made in this test file; for afterAll. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
