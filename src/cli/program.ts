import { Command } from 'commander';
import { sendCommand } from './send-command.js';

/**
 * The `herald` command line with every command registered; main.ts parses it. `send` is a client
 * of a running Herald: with `clientOnly` the server's modules are not even loaded, so it starts fast.
 */
export async function heraldProgram(clientOnly = false): Promise<Command> {
  const program = new Command('herald')
    .description('Herald delivers survey invitations by email, SMS and WhatsApp.')
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });
  if (!clientOnly) {
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
  return program;
}
