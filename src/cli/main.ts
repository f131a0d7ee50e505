#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { DataDirLockedError } from '../storage/data-dir-lock.js';
import { sendCommand, SendError } from './send-command.js';

const program = new Command('herald')
  .description('Herald delivers survey invitations by email, SMS and WhatsApp.')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

// `send` is a client of a running Herald: it starts without loading the server's modules.
if (process.argv[2] !== 'send') {
  const [{ runCommands }, { adminCommands }, { demoCommands }] = await Promise.all([
    import('./run-commands.js'),
    import('./admin-commands.js'),
    import('./demo-commands.js'),
  ]);
  runCommands(program);
  adminCommands(program);
  demoCommands(program);
}
sendCommand(program);

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
