import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { allowingAlso } from '../network/egress-rules.js';
import { prepareDemo, type DemoInfo } from '../demo/demo-setup.js';
import { listCaughtMail, startMailCatcher, type MailCatcher } from '../demo/mail-catcher.js';
import { startHerald } from '../herald.js';
import { storageOptions } from './options.js';

const mailboxOf = (dataDir: string) => path.join(dataDir, 'mailbox');

function readPreviousKey(file: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DemoInfo>).apiKey;
  } catch {
    return undefined;
  }
}

function firstRequest(info: DemoInfo): string {
  const body = JSON.stringify([
    {
      dispatchID: info.dispatchId,
      preFill: [
        [
          { questionId: info.questionIds.uuid, input: 'customer-1' },
          { questionId: info.questionIds.email, input: 'ann@example.com' },
          { questionId: info.questionIds.name, input: 'Ann' },
          { questionId: info.questionIds.language, input: 'en' },
        ],
      ],
    },
  ]);
  return [
    `curl -X POST ${info.baseUrl}/api/dispatchRequest \\`,
    `  -H "Authorization: Bearer ${info.apiKey}" -H "Content-Type: application/json" \\`,
    `  -d '${body}'`,
  ].join('\n');
}

async function runDemo(options: { port?: number; dataDir?: string; smtp?: string }): Promise<void> {
  let config = loadConfig(process.env, { port: options.port, dataDir: options.dataDir });
  let catcher: MailCatcher | undefined;
  if (!options.smtp) {
    catcher = await startMailCatcher(mailboxOf(config.dataDir));
    // The built-in catcher listens on loopback: the one non-public address the demo may reach.
    const { hostname, port } = new URL(catcher.url);
    config = { ...config, egress: allowingAlso(config.egress, hostname, Number(port)) };
  }
  const smtpUrl = options.smtp ?? catcher!.url;
  const herald = await startHerald(config, { api: true, workers: true }, 'demo').catch(async (error: unknown) => {
    await catcher?.close();
    throw error;
  });
  const demoFile = path.join(config.dataDir, 'demo.json');
  const prepared = await prepareDemo(herald.database, herald.vault, smtpUrl, readPreviousKey(demoFile), config.egress);
  const info: DemoInfo = { baseUrl: herald.url ?? '', ...prepared };
  fs.writeFileSync(demoFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(
    [
      `Herald demo is running on ${info.baseUrl} (API docs: ${info.baseUrl}/docs)`,
      `Data: ${herald.database.location}; mail goes to ${catcher ? `the built-in mail catcher (${smtpUrl}); list it with: herald mailbox --data-dir ${config.dataDir}` : smtpUrl}`,
      `Details for scripts: ${demoFile}`,
      'A first request:',
      firstRequest(info),
      '',
    ].join('\n'),
  );
  const shutdown = () => {
    void Promise.allSettled([herald.stop(), catcher?.close()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

export function demoCommands(program: Command): void {
  program
    .command('demo')
    .description(
      'run Herald with a ready-made demo account, survey and live email dispatch; writes <data-dir>/demo.json',
    )
    .addOption(storageOptions.port())
    .addOption(storageOptions.dataDir())
    .option(
      '--smtp <url>',
      'send demo mail through this server (smtp://host:port, smtps://user:pass@host:port); default: a built-in mail catcher',
    )
    .action(runDemo);

  program
    .command('mailbox')
    .description("list the messages the demo's built-in mail catcher received")
    .addOption(storageOptions.dataDir())
    .action(async (options: { dataDir?: string }) => {
      const config = loadConfig(process.env, { dataDir: options.dataDir });
      process.stdout.write(`${JSON.stringify(await listCaughtMail(mailboxOf(config.dataDir)), null, 2)}\n`);
    });
}
