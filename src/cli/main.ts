#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { DataDirLockedError } from '../storage/data-dir-lock.js';
import { adminCommands } from './admin-commands.js';
import { demoCommands } from './demo-commands.js';
import { runCommands } from './run-commands.js';

const program = new Command('herald')
  .description('Herald delivers survey invitations by email, SMS and WhatsApp.')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

runCommands(program);
adminCommands(program);
demoCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`herald: ${message}\n`);
  process.exit(1);
});
