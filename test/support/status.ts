import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type { Database } from '../../src/storage/database.js';
import { deliveryPolicies, dispatches, type Channel } from '../../src/storage/schema.js';
import type {
  CallbackHandler,
  ReplyReport,
  ReportedStatus,
  SingleSendVendor,
  StatusReport,
} from '../../src/vendors/vendor.js';
import { vendorAdapter } from '../../src/vendors/vendor-adapter.js';
import { registerVendorAdapter } from '../../src/vendors/vendor-registry.js';
import { api, waitForMessage } from './delivery.js';
import type { TestHerald } from './herald.js';
import { apiRequest, type Answer } from './api-client.js';
import { seedDispatch, type SeededDispatch } from './platform.js';

/**
 * A test-only SMS vendor kind: it "sends" into `smsOutbox`, and its callbacks are JSON (or a form
 * field `payload` holding the JSON) signed with `x-test-signature: hex(HMAC-SHA256(signingKey,
 * url + "\n" + rawBody))` — over the URL called and the raw body, as real vendors sign.
 */
export const TEST_SMS_KIND = 'test-sms';

export interface SentSms {
  id: string;
  to: string;
  text: string;
  vendorMessageId: string;
}

/** What the test SMS vendor sent, in order (all test Heralds of this file). */
export const smsOutbox: SentSms[] = [];

/** Recipients the test SMS vendor refuses for good (as an unknown number). */
export const refusedNumbers = new Set<string>();

const testSmsVendor = (): SingleSendVendor => ({
  delivery: 'single',
  async send(message) {
    if (refusedNumbers.has(message.to)) {
      return { ok: false, category: 'invalid_recipient', retryable: false, code: '21211', detail: 'Unknown number' };
    }
    const vendorMessageId = `sms-${randomUUID()}`;
    smsOutbox.push({ id: message.id, to: message.to, text: message.text, vendorMessageId });
    return { ok: true, vendorMessageId };
  },
  async close() {},
});

export function signatureOf(signingKey: string, url: string, rawBody: string): string {
  return createHmac('sha256', signingKey).update(`${url}\n${rawBody}`).digest('hex');
}

const text = (value: unknown, field: string): string => {
  if (typeof value !== 'string' || value === '') throw new Error(`${field} is missing`);
  return value;
};
const optional = (value: unknown) => (typeof value === 'string' ? value : undefined);

const testSmsCallbacks: CallbackHandler = {
  verify(request, _settings, secrets) {
    const given = request.headers['x-test-signature'];
    const key = secrets.signingKey;
    return typeof key === 'string' && given === signatureOf(key, request.url, request.rawBody);
  },
  parse(request) {
    const form = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded');
    const json = form ? (new URLSearchParams(request.rawBody).get('payload') ?? '') : request.rawBody;
    const body = JSON.parse(json) as { statuses?: Record<string, unknown>[]; replies?: Record<string, unknown>[] };
    const statuses = (body.statuses ?? []).map((s, i): StatusReport => ({
      externalEventId: text(s.id, `statuses.${i}.id`),
      vendorMessageId: text(s.messageId, `statuses.${i}.messageId`),
      status: text(s.status, `statuses.${i}.status`) as ReportedStatus,
      occurredAt: new Date(text(s.at, `statuses.${i}.at`)),
      ...(s.category !== undefined && { category: s.category as StatusReport['category'] }),
      ...(s.code !== undefined && { code: optional(s.code) ?? null }),
      ...(s.detail !== undefined && { detail: optional(s.detail) }),
    }));
    const replies = (body.replies ?? []).map((r, i): ReplyReport => ({
      externalEventId: text(r.id, `replies.${i}.id`),
      vendorMessageId: optional(r.messageId) ?? null,
      occurredAt: new Date(text(r.at, `replies.${i}.at`)),
      ...(r.text !== undefined && { text: optional(r.text) }),
      ...(r.action !== undefined && { action: optional(r.action) }),
      ...(r.from !== undefined && { from: optional(r.from) }),
    }));
    return { statuses, replies };
  },
  handshake(query, settings) {
    return query['hub.verify_token'] !== undefined && query['hub.verify_token'] === settings.verifyToken
      ? (query['hub.challenge'] ?? null)
      : null;
  },
};

const testSmsAdapter = vendorAdapter({
  kind: TEST_SMS_KIND,
  channel: 'sms',
  delivery: 'single',
  settings: Type.Object({ verifyToken: Type.Optional(Type.String()) }, { additionalProperties: false }),
  secrets: Type.Object({ signingKey: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  create: testSmsVendor,
  callbacks: testSmsCallbacks,
});

/** Registers the test SMS kind (settings, sender, callbacks) with the Herald running in this process. */
export function registerTestSmsKind(): void {
  registerVendorAdapter(testSmsAdapter);
}

/** Creates a test SMS vendor through the API. */
export async function createSmsVendor(
  herald: TestHerald,
  apiKey: string,
  signingKey: string,
  verifyToken = 'verify-me',
): Promise<string> {
  const created = await api<{ id: string }>(
    herald,
    apiKey,
    'POST',
    '/api/vendors',
    { name: 'SMS', kind: TEST_SMS_KIND, settings: { verifyToken }, secrets: { signingKey } },
    201,
  );
  return created.body.id;
}

/** Points a dispatch's channels at vendors and sets its policy's channels and fallback. */
export async function routeDispatch(
  database: Database,
  seeded: SeededDispatch,
  channelVendors: Partial<Record<Channel, string>>,
  policy: { channels?: Channel[]; channelFallback?: boolean } = {},
): Promise<void> {
  await database.db.update(dispatches).set({ channelVendors }).where(eq(dispatches.id, seeded.dispatchId));
  if (Object.keys(policy).length > 0) {
    await database.db.update(deliveryPolicies).set(policy).where(eq(deliveryPolicies.id, seeded.policyId));
  }
}

/** A seeded dispatch that sends by SMS through the test vendor only. */
export async function seedSmsDispatch(database: Database, accountId: string, vendorId: string) {
  const seeded = await seedDispatch(database, accountId, { channels: ['sms'] });
  await routeDispatch(database, seeded, { sms: vendorId });
  return seeded;
}

/** A message row with everything the status tests look at (timestamps as ISO strings). */
export interface StatusRow {
  id: string;
  channel: string;
  reminder_level: number;
  status: string;
  status_updated_at: string;
  vendor_id: string | null;
  vendor_message_id: string | null;
  delivered_at: string | null;
  read_at: string | null;
  error_category: string | null;
  error_code: string | null;
  error_message: string | null;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

/** The invitation's messages on every channel, by reminder level then creation. */
export async function statusRows(database: Database, invitationId: string): Promise<StatusRow[]> {
  const rows = await database.sql.query<Record<string, unknown>>(
    `SELECT id, channel, reminder_level, status, status_updated_at, vendor_id, vendor_message_id, delivered_at,
            read_at, error_category, error_code, error_message
     FROM messages WHERE invitation_id = $1 ORDER BY reminder_level, created_at`,
    [invitationId],
  );
  return rows.map((r) => ({
    ...(r as unknown as StatusRow),
    reminder_level: Number(r.reminder_level),
    status_updated_at: iso(r.status_updated_at)!,
    delivered_at: iso(r.delivered_at),
    read_at: iso(r.read_at),
  }));
}

/** The invitation's first message once it is sent, with its vendor message id. */
export async function sentMessage(database: Database, invitationId: string): Promise<StatusRow> {
  await waitForMessage(database, invitationId, (m) => m.status === 'sent', { description: 'the message to be sent' });
  const [row] = await statusRows(database, invitationId);
  if (!row?.vendor_message_id) throw new Error('a sent message has no vendor message id');
  return row;
}

/** How many vendor_callbacks rows a vendor has. */
export async function callbackCount(database: Database, vendorId: string): Promise<number> {
  const [row] = await database.sql.query<{ n: string | number }>(
    'SELECT count(*) AS n FROM vendor_callbacks WHERE vendor_id = $1',
    [vendorId],
  );
  return Number(row?.n);
}

/** POSTs a callback to `/hooks/{kind}/{vendorId}{query}`, signed with `signingKey` unless `signature` is given. */
export function postCallback(
  herald: TestHerald,
  vendorId: string,
  body: unknown,
  options: { signingKey?: string; signature?: string | null; kind?: string; query?: string; form?: boolean } = {},
): Promise<Answer<Record<string, unknown>>> {
  const json = typeof body === 'string' ? body : JSON.stringify(body);
  const raw = options.form ? new URLSearchParams({ payload: json }).toString() : json;
  const pathname = `/hooks/${options.kind ?? TEST_SMS_KIND}/${vendorId}${options.query ?? ''}`;
  const headers: Record<string, string> = {
    'content-type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
  };
  const signature =
    options.signature !== undefined
      ? options.signature
      : signatureOf(options.signingKey ?? '', `${herald.url}${pathname}`, raw);
  if (signature !== null) headers['x-test-signature'] = signature;
  return apiRequest(herald.url, pathname, { method: 'POST', raw, headers });
}

/** A status event of the test SMS vendor. */
export const statusEvent = (id: string, messageId: string, status: ReportedStatus, at: string, extra = {}) => ({
  id,
  messageId,
  status,
  at,
  ...extra,
});

const FIXTURES = path.join(import.meta.dirname, 'dsn');

/**
 * A bounce from test/support/dsn, filled in for a message Herald really sent: the failed address,
 * the original message (as the sink received it) or its headers, its Message-ID and the bounce's
 * own id.
 */
export function dsnFor(fixture: string, values: { recipient: string; originalRaw: string; dsnId: string }): string {
  const original = values.originalRaw.replace(/\r\n/g, '\n').replace(/\n+$/, '\n');
  const headers = original.split('\n\n')[0] ?? '';
  const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(headers)?.[1] ?? '<none@herald.test>';
  return readFileSync(path.join(FIXTURES, fixture), 'utf8')
    .replaceAll('{{RECIPIENT}}', values.recipient)
    .replaceAll('{{RECIPIENT_LOCAL}}', values.recipient.split('@')[0] ?? '')
    .replaceAll('{{DSN_ID}}', values.dsnId)
    .replaceAll('{{ORIGINAL_MESSAGE_ID}}', messageId)
    .replaceAll('{{ORIGINAL_HEADERS}}', headers)
    .replaceAll('{{ORIGINAL_MESSAGE}}', original);
}

/** Delivers a mail to Herald's bounce endpoint over SMTP, from the null sender as bounces come. */
export async function sendToBounceEndpoint(port: number, raw: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from: '', to: ['bounces@herald.test'] }, raw });
  } finally {
    transport.close();
  }
}
