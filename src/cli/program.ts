import { Command } from 'commander';
import { adminCommands } from './admin-commands.js';
import { demoCommands } from './demo-commands.js';
import { runCommands } from './run-commands.js';

/** The `herald` command line with every command registered; main.ts parses it. */
export function heraldProgram(): Command {
  const program = new Command('herald')
    .description('Herald delivers survey invitations by email, SMS and WhatsApp.')
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });
  runCommands(program);
  adminCommands(program);
  demoCommands(program);
  return program;
}
