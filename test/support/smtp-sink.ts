import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { stopAtEndOfFile } from './teardown.js';

/** Closes `server` once, however often it is called (by a test, and when its file ends). */
function closingOnce(server: SMTPServer): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= new Promise<void>((resolve) => server.close(() => resolve())));
}

export interface SinkMessage {
  to: string;
  mail: ParsedMail;
  raw: string;
}

/** Answers a recipient with an SMTP error, e.g. { code: 550, message: '5.1.1 User unknown' }; undefined accepts. */
export type RecipientRule = (address: string) => { code: number; message: string } | undefined;

export interface SmtpSink {
  readonly port: number;
  readonly url: string;
  readonly messages: SinkMessage[];
  rule: RecipientRule;
  close(): Promise<void>;
}

/** A real SMTP server on loopback that keeps what it receives (parsed) and refuses as `rule` says. */
export async function startSmtpSink(rule: RecipientRule = () => undefined, port = 0): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const sink: { rule: RecipientRule } = { rule };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusal = sink.rule(address.address);
      if (!refusal) return callback();
      const error = new Error(refusal.message) as Error & { responseCode: number };
      error.responseCode = refusal.code;
      return callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (mail) => {
            for (const to of session.envelope.rcptTo) messages.push({ to: to.address, mail, raw });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // A client that dies mid-conversation (a Herald killed with SIGKILL) resets its connection; the
  // server reports that as an 'error' event, which must not become an uncaught exception.
  server.on('error', () => undefined);
  const actual = (server.server.address() as AddressInfo).port;
  const close = closingOnce(server);
  stopAtEndOfFile(close);
  return Object.assign(sink, { port: actual, url: `smtp://127.0.0.1:${actual}`, messages, close });
}

export interface HoldingSmtpServer {
  readonly port: number;
  /** One answer a received mail is waiting for, oldest first: call it to accept that mail. */
  readonly held: (() => void)[];
  close(): Promise<void>;
}

/** A real SMTP server that receives each mail's data and holds its answer until the test releases it. */
export async function startHoldingSmtpServer(): Promise<HoldingSmtpServer> {
  const held: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, _session, callback) => stream.on('end', () => held.push(() => callback())).resume(),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.on('error', () => undefined);
  const close = closingOnce(server);
  stopAtEndOfFile(close);
  return { port: (server.server.address() as AddressInfo).port, held, close };
}
