#!/usr/bin/env node
import { ConfigError } from '../config/config.js';
import { DataDirLockedError } from '../storage/data-dir-lock.js';
import { heraldProgram } from './program.js';
import { SendError } from './send-command.js';

const program = await heraldProgram(process.argv[2] === 'send');
program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof SendError) {
    process.stderr.write(`herald send: ${error.message}\n`);
    process.exit(1);
  }
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`herald: ${message}\n`);
  process.exit(1);
});
