import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  file: string;
  from: string;
  to: string;
  subject: string;
  date: string;
}

export interface MailCatcher {
  /** smtp://127.0.0.1:<port> */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A local SMTP server that accepts every message and keeps it as an .eml file in `dir`, so the demo
 * shows what would have been sent without sending anything anywhere.
 */
export async function startMailCatcher(dir: string, port = 0): Promise<MailCatcher> {
  fs.mkdirSync(dir, { recursive: true });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const file = path.join(dir, `${Date.now()}-${randomBytes(4).toString('hex')}.eml`);
      const out = fs.createWriteStream(file);
      stream.pipe(out);
      out.on('finish', () => callback());
      out.on('error', (error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The caught messages, oldest first. */
export async function listCaughtMail(dir: string): Promise<CaughtMail[]> {
  if (!fs.existsSync(dir)) return [];
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort();
  return Promise.all(
    files.map(async (file) => {
      const mail = await simpleParser(fs.readFileSync(path.join(dir, file)));
      const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? '');
      return {
        file,
        from: mail.from?.text ?? '',
        to,
        subject: mail.subject ?? '',
        date: (mail.date ?? new Date(0)).toISOString(),
      };
    }),
  );
}
