import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { senderWorker } from '../../../src/vendors/smtp/smtp-sender-thread.js';
import { SmtpVendor } from '../../../src/vendors/smtp/smtp-vendor.js';
import type { OutgoingMessage } from '../../../src/vendors/vendor.js';
import {
  startHoldingSmtpServer,
  startSmtpSink,
  type HoldingSmtpServer,
  type SmtpSink,
} from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';
import { loopbackEgress } from '../../support/egress.js';

const vendorAt = (port: number) =>
  new SmtpVendor(
    { host: '127.0.0.1', port, security: 'none', fromAddress: 'surveys@herald.test', rejectUnauthorized: true },
    {},
    loopbackEgress,
  );

const message = (id: string, to: string): OutgoingMessage => ({
  id,
  to,
  subject: 'Your visit',
  text: 'Tell us about it',
  html: '<p>Tell us about it</p>',
  headers: { 'List-Unsubscribe': `<https://herald.test/u/${id}>` },
});

describe('SMTP sender thread', () => {
  let sink: SmtpSink;
  /** Accepts connections and never greets: a send to it stays in flight (until the 15 s greeting timeout). */
  let silent: net.Server;
  const silentSockets: net.Socket[] = [];

  /** Holds the answer to each message's data until told: a send that has begun and is not answered. */
  let holding: HoldingSmtpServer;

  beforeAll(async () => {
    sink = await startSmtpSink((address) =>
      address.startsWith('unknown') ? { code: 550, message: `5.1.1 User unknown: <${address}>` } : undefined,
    );
    silent = net.createServer((socket) => silentSockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    holding = await startHoldingSmtpServer();
  });
  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await holding?.close();
    await sink?.close();
  });

  it('sends through the worker: the message arrives with its headers, refusals come back translated', async () => {
    const vendor = vendorAt(sink.port);
    try {
      const outcome = await vendor.send(message('m-1', 'ada@example.com'));
      expect(outcome.ok).toBe(true);
      const arrived = sink.messages.find((m) => m.to === 'ada@example.com');
      expect(arrived?.mail.subject).toBe('Your visit');
      expect(arrived?.mail.headers.get('x-herald-message-id')).toBe('m-1');
      expect(outcome.ok && outcome.vendorMessageId).toBe(arrived?.mail.messageId);
      expect(arrived?.raw).toMatch(/^List-Unsubscribe: <https:\/\/herald\.test\/u\/m-1>\r$/m);
      const refused = await vendor.send(message('m-2', 'unknown@example.com'));
      expect(refused).toMatchObject({ ok: false, category: 'invalid_recipient', retryable: false, code: '550' });
      expect(!refused.ok && refused.detail).toContain('5.1.1 User unknown');
    } finally {
      await vendor.close();
    }
  });

  it('takes the recipient out of a refusal before it is stored', async () => {
    const vendor = vendorAt(sink.port);
    try {
      const refused = await vendor.send(message('m-10', 'unknown.ann@example.com'));
      expect(refused).toMatchObject({ ok: false, category: 'invalid_recipient' });
      expect(!refused.ok && refused.detail).toContain('5.1.1 User unknown');
      expect(!refused.ok && refused.detail).not.toContain('unknown.ann@example.com');
    } finally {
      await vendor.close();
    }
  });

  it('sends to the quoted address as written, never to an address inside its quotes', async () => {
    // nodemailer before 7.0.7 read the quoted local part as a second address and sent it there.
    const vendor = vendorAt(sink.port);
    try {
      const before = sink.messages.length;
      const outcome = await vendor.send(message('m-9', '"evil@attacker.test x"@example.com'));
      // Refused or delivered to the quoted mailbox: never a recipient at attacker.test.
      const recipients = sink.messages.slice(before).map((m) => m.to);
      expect(recipients.filter((to) => to.endsWith('@attacker.test'))).toEqual([]);
      if (outcome.ok) expect(recipients).toEqual(['"evil@attacker.test x"@example.com']);
    } finally {
      await vendor.close();
    }
  });

  it('answers the sends of a worker that dies as retryable, and sends again on a fresh worker', async () => {
    const stalled = vendorAt((silent.address() as AddressInfo).port);
    const healthy = vendorAt(sink.port);
    try {
      const inFlight = stalled.send(message('m-3', 'grace@example.com'));
      await waitFor(() => silentSockets.length > 0);
      const killed = senderWorker()!;
      await killed.terminate();
      expect(await inFlight).toMatchObject({
        ok: false,
        retryable: true,
        category: 'vendor_unavailable',
        detail: 'The SMTP sender thread stopped',
      });

      // The fresh worker reopened `healthy`, which was opened on the one that died.
      expect(await healthy.send(message('m-4', 'grace@example.com'))).toMatchObject({ ok: true });
      expect(senderWorker()).toBeDefined();
      expect(senderWorker()).not.toBe(killed);
      expect(sink.messages.some((m) => m.mail.headers.get('x-herald-message-id') === 'm-4')).toBe(true);
    } finally {
      await stalled.close();
      await healthy.close();
    }
  });

  it('stops the worker when the last vendor is closed, once its sends are answered', async () => {
    const first = vendorAt(sink.port);
    const second = vendorAt(holding.port);
    expect(await first.send(message('m-5', 'alan@example.com'))).toMatchObject({ ok: true });
    const worker = senderWorker()!;
    const exit = new Promise((resolve) => worker.once('exit', resolve));
    await first.close();
    expect(senderWorker()).toBe(worker);

    const inFlight = second.send(message('m-6', 'alan@example.com'));
    await waitFor(() => holding.held.length === 1);
    await second.close();
    expect(senderWorker()).toBeUndefined();
    // The send in flight is still answered by the worker: it waited for it before exiting.
    holding.held[0]!();
    expect(await inFlight).toMatchObject({ ok: true });
    await exit;

    // A closed vendor answers (nodemailer's closed pool never would), without starting a worker.
    expect(await second.send(message('m-7', 'alan@example.com'))).toMatchObject({ ok: false, retryable: true });
    expect(senderWorker()).toBeUndefined();
  });

  it('posts the mails of one turn to the thread in one message, and sends them all', async () => {
    const vendor = vendorAt(sink.port);
    try {
      expect(await vendor.send(message('m-8', 'ada@example.com'))).toMatchObject({ ok: true });
      const worker = senderWorker()!;
      const posted: unknown[] = [];
      const postMessage = worker.postMessage.bind(worker);
      worker.postMessage = (value: unknown) => {
        posted.push(value);
        postMessage(value);
      };
      // More than the pool's window (two mails a connection): the rest wait in the thread, not in nodemailer.
      const ids = Array.from({ length: 40 }, (_, i) => `batch-${i}`);
      const outcomes = await Promise.all(ids.map((id) => vendor.send(message(id, `${id}@example.com`))));
      expect(outcomes.every((o) => o.ok)).toBe(true);
      expect(posted).toHaveLength(1);
      const [post] = posted as { op: string; sends: unknown[] }[];
      expect(post?.op).toBe('send');
      expect(post?.sends).toHaveLength(40);
      const arrived = new Set(sink.messages.map((m) => m.mail.headers.get('x-herald-message-id')));
      expect(ids.filter((id) => !arrived.has(id))).toEqual([]);
    } finally {
      await vendor.close();
    }
  });

  it('closing a vendor lets the mails on the wire finish and answers those still waiting as retryable', async () => {
    const vendor = vendorAt(holding.port);
    holding.held.length = 0;
    const sending = Array.from({ length: 25 }, (_, i) => vendor.send(message(`w-${i}`, `w${i}@example.com`)));
    // Five connections, each holding one mail's data unanswered.
    await waitFor(() => holding.held.length === 5);
    await vendor.close();
    for (const release of holding.held) release();
    const outcomes = await Promise.all(sending);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
    const refused = outcomes.filter((o) => !o.ok);
    expect(refused).toHaveLength(20);
    for (const outcome of refused) {
      expect(outcome).toMatchObject({ retryable: true, category: 'vendor_unavailable' });
      expect(!outcome.ok && outcome.detail).toContain('Connection pool was closed');
    }
  });
});
