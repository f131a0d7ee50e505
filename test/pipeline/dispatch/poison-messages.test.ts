import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealOriginals } from '../../../src/privacy/sealed-originals.js';
import { parseVaultKeys, Vault } from '../../../src/privacy/vault.js';
import type { Database } from '../../../src/storage/database.js';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { mailsTo, messageRows, seedSinkDispatch, type MessageRow } from '../../support/delivery.js';
import { startTestHerald, TEST_VAULT_KEYS, type TestHerald } from '../../support/herald.js';
import { eventRows } from '../../support/ingest.js';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';

const MAX_ATTEMPTS = 3;
const vault = new Vault(parseVaultKeys(TEST_VAULT_KEYS).keys);
/** The id of the key that seals in these tests. */
const KEY_ID = vault.currentKeyId;

interface Recipient {
  /** The address, stored in the clear (its question is not hashed here) unless `sealed` says otherwise. */
  address: string;
  dispatchId: string;
  /** How the original address is sealed: properly, with junk, or with a key this Herald lacks. */
  sealed?: 'ok' | 'junk' | 'unknown-key';
  /** A message already claimed and abandoned by a dead process, with this many attempts used. */
  staleAttempts?: number;
}

/**
 * Invitations with tokens and their due email messages, inserted in one transaction so that one
 * claim takes them all: what a batch holds when one of its messages cannot be prepared.
 */
async function insertDue(database: Database, accountId: string, emailQuestion: string, recipients: Recipient[]) {
  const ids: string[] = [];
  await database.transaction(async ({ sql }) => {
    for (const [index, r] of recipients.entries()) {
      const invitationId = randomUUID();
      ids.push(invitationId);
      const hashed = r.sealed !== undefined;
      const input = hashed ? `sha512:${randomBytes(8).toString('hex')}` : r.address;
      const sealed =
        r.sealed === 'ok'
          ? sealOriginals(vault, accountId, invitationId, [r.address])!.sealed.toString('base64')
          : hashed
            ? randomBytes(60).toString('base64')
            : null;
      const keyId = r.sealed === 'unknown-key' ? 'retired-key' : hashed ? KEY_ID : null;
      await sql.query(
        `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, target, prefills, token,
                                  sealed_originals, sealed_key_id)
         VALUES ($1, $2, 'poison', $3, $4, 'token_created', $5, $6, $7, $8, $9)`,
        [
          invitationId,
          accountId,
          r.dispatchId,
          index,
          input,
          JSON.stringify([{ questionId: emailQuestion, input, hashed }]),
          `token-${invitationId}`,
          sealed,
          keyId,
        ],
      );
      const stale = r.staleAttempts !== undefined;
      await sql.query(
        `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at, attempts, claimed_at)
         VALUES ($1, $2, $3, 'email', 0, $4, now() - interval '1 minute', $5, $6)`,
        [
          accountId,
          invitationId,
          r.dispatchId,
          stale ? 'sending' : 'scheduled',
          r.staleAttempts ?? 0,
          stale ? new Date(Date.now() - 3_600_000).toISOString() : null,
        ],
      );
    }
  });
  return ids;
}

describe.each(databaseKinds())('messages that cannot be prepared, on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink();
    herald = await startTestHerald(kind, {
      env: {
        HERALD_DELIVERY_POLL_MS: '50',
        HERALD_SEND_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        HERALD_SEND_CLAIM_TIMEOUT_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await herald?.stop();
    await sink?.close();
  });

  const finalOf = (ids: string[]) =>
    waitFor(
      async () => {
        const rows = await messageRows(herald.database, ids);
        return rows.length === ids.length && rows.every((m) => m.status === 'sent' || m.status === 'error')
          ? rows
          : undefined;
      },
      30_000,
      { description: 'every message sent or failed' },
    );

  it('fail alone, as auth_or_config with what to do; the rest of the batch is sent and recorded', async () => {
    const { database } = herald;
    const { account } = await seedAccount(database);
    const good = await seedSinkDispatch(database, account.id, sink);
    // A content template that fails when it renders (stored as a bug or an older version could leave it).
    const brokenTemplate = await seedSinkDispatch(database, account.id, sink);
    const [template] = await database.sql.query<{ id: string }>(
      `INSERT INTO content_templates (account_id, name, channel, variants) VALUES ($1, 'Broken', 'email', $2) RETURNING id`,
      [account.id, JSON.stringify([{ language: 'en', subject: 'Hi', text: 'Hello {{#if}}' }])],
    );
    await database.sql.query(`UPDATE dispatches SET templates = $2 WHERE id = $1`, [
      brokenTemplate.dispatchId,
      JSON.stringify({ email: { initial: template!.id } }),
    ]);
    // A vendor whose secrets do not open with any configured key.
    const lockedVendor = await seedSinkDispatch(database, account.id, sink);
    await database.sql.query(`UPDATE vendors SET secrets = $2, secrets_key_id = $3 WHERE id = $1`, [
      lockedVendor.vendorId,
      randomBytes(64),
      KEY_ID,
    ]);

    const at = (name: string) => `${name}@poison-${kind}.test`;
    const recipients: Recipient[] = [
      { address: at('first'), dispatchId: good.dispatchId },
      { address: at('junk-seal'), dispatchId: good.dispatchId, sealed: 'junk' },
      { address: at('sealed-ok'), dispatchId: good.dispatchId, sealed: 'ok' },
      { address: at('unknown-key'), dispatchId: good.dispatchId, sealed: 'unknown-key' },
      { address: at('broken-template'), dispatchId: brokenTemplate.dispatchId },
      { address: at('locked-vendor'), dispatchId: lockedVendor.dispatchId },
      { address: at('last'), dispatchId: good.dispatchId },
    ];
    const ids = await insertDue(database, account.id, good.q.email, recipients);
    const rows = await finalOf(ids);
    const byAddress = new Map<string, MessageRow>(recipients.map((r, i) => [r.address, rows[i]!]));

    for (const address of [at('first'), at('sealed-ok'), at('last')]) {
      expect(byAddress.get(address)).toMatchObject({ status: 'sent', error_category: null });
      expect(mailsTo(sink, address)).toHaveLength(1);
    }
    const failed = (address: string) => {
      const row = byAddress.get(address)!;
      expect(row).toMatchObject({ status: 'error', error_category: 'auth_or_config', attempts: 1 });
      expect(mailsTo(sink, address)).toHaveLength(0);
      return row.error_message;
    };
    expect(failed(at('junk-seal'))).toMatch(
      /sealed personal data does not open with vault key "test1".*HERALD_VAULT_KEYS/,
    );
    expect(failed(at('unknown-key'))).toMatch(/sealed with vault key "retired-key", which this Herald does not have/);
    expect(failed(at('broken-template'))).toMatch(
      new RegExp(`content template ${template!.id} failed to render.*Correct the template`),
    );
    expect(failed(at('locked-vendor'))).toMatch(
      new RegExp(`secrets of vendor ${lockedVendor.vendorId} do not open.*PUT /api/vendors/${lockedVendor.vendorId}`),
    );

    // Each failure is on its invitation's timeline, with the same words.
    const events = await eventRows(database, ids);
    for (const [i, r] of recipients.entries()) {
      const mine = events.filter((e) => e.invitation_id === ids[i]);
      const error = mine.find((e) => e.action === EventAction.Error);
      if (rows[i]!.status === 'error') expect(error).toMatchObject({ level: 'Error', message: rows[i]!.error_message });
      else
        expect(
          mine.some((e) => e.action === EventAction.DispatchSuccessful),
          r.address,
        ).toBe(true);
    }
  });

  it('stops sending a message again after HERALD_SEND_MAX_ATTEMPTS stale claims: Error, stuck', async () => {
    const { database } = herald;
    const { account } = await seedAccount(database);
    const dispatch = await seedSinkDispatch(database, account.id, sink);
    const at = (name: string) => `${name}@stale-${kind}.test`;
    const ids = await insertDue(database, account.id, dispatch.q.email, [
      { address: at('abandoned-once'), dispatchId: dispatch.dispatchId, staleAttempts: 1 },
      { address: at('abandoned-always'), dispatchId: dispatch.dispatchId, staleAttempts: MAX_ATTEMPTS },
    ]);
    const [once, always] = await finalOf(ids);

    // Abandoned once: queued again and sent.
    expect(once).toMatchObject({ status: 'sent', attempts: 2 });
    expect(mailsTo(sink, at('abandoned-once'))).toHaveLength(1);
    // Abandoned on every attempt: not sent again, but marked Error as stuck.
    expect(always).toMatchObject({ status: 'error', error_code: 'stuck', attempts: MAX_ATTEMPTS });
    expect(always!.error_message).toMatch(/^Stuck: claimed for sending 3 times without an outcome/);
    expect(mailsTo(sink, at('abandoned-always'))).toHaveLength(0);
    const actions = (await eventRows(database, [ids[1]!])).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining([EventAction.Error, EventAction.DispatchUnsuccessful]));
  });
});
