import { createDecipheriv, createHash, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, TEST_VAULT_KEYS, type TestHerald } from '../../support/herald.js';
import { invitationRows, keyFor, logRows, postDispatchRequest, recordOf } from '../../support/ingest.js';
import { apiRequest, type ErrorBody } from '../../support/api-client.js';
import { seedDispatch } from '../../support/platform.js';
import { waitFor } from '../../support/wait.js';

type Algorithm = 'sha256' | 'sha384' | 'sha512';
/** The documented hash form, computed here independently of Herald: algorithm ":" lower-case hex of the lower-cased value. */
const expectedHash = (value: string, algorithm: Algorithm = 'sha512') =>
  `${algorithm}:${createHash(algorithm).update(value.toLowerCase(), 'utf8').digest('hex')}`;

/** Opens sealed originals with the test key, independently of Herald's Vault: AES-256-GCM, iv ‖ tag ‖ ciphertext, AAD account:invitation. */
function openIndependently(sealed: Buffer, accountId: string, invitationId: string): string {
  const key = Buffer.from(TEST_VAULT_KEYS.split(':')[1]!, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(`${accountId}:${invitationId}`));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
}

interface EventLogEntry {
  id: string;
  state: string;
  tokenId: string | null;
  target: string | null;
  targetHashed: string | null;
  prefills: { questionId: string; input: string; input_Hash: string }[];
  tags: string[];
}

describe.each(databaseKinds())('PII hashing and the vault on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { env: { HERALD_TOKEN_FLUSH_MS: '0' } });
  });
  afterAll(() => herald?.stop());

  async function setup() {
    const { account, apiKey } = await seedAccount(herald.database);
    // Email and SMS: the Mobile question is a channel question, so its value is normalised too.
    const seeded = await seedDispatch(herald.database, account.id, { channels: ['email', 'sms'] });
    return { account, apiKey, seeded };
  }

  async function sendOne(ctx: Awaited<ReturnType<typeof setup>>, email: string, mobile: string, uuid = 'h1') {
    const answer = await postDispatchRequest(herald, ctx.apiKey, {
      json: [
        { dispatchID: ctx.seeded.dispatchId, preFill: [recordOf(ctx.seeded, { uuid, email, mobile, name: 'Ann' })] },
      ],
    });
    expect(answer.status).toBe(207);
    expect(answer.body.statusByDispatch[0]?.dispatchStatus).toBe(202);
    const [row] = await invitationRows(herald.database, ctx.account.id, answer.body.batchId);
    return row!;
  }
  const inputOf = (row: { prefills: { questionId: string; input: string }[] }, questionId: string) =>
    row.prefills.find((p) => p.questionId === questionId)?.input;

  it('hashes PII-hash prefills as sha512 by default: lower-cased input as received, lower-case hex', async () => {
    const ctx = await setup();
    const { q } = ctx.seeded;
    const row = await sendOne(ctx, 'Ann.Lee@Example.COM', '+44 7911 123456');
    const email = expectedHash('ann.lee@example.com', 'sha512');
    const mobile = expectedHash('+44 7911 123456', 'sha512');
    expect(email).toMatch(/^sha512:[0-9a-f]{128}$/);
    expect(inputOf(row, q.email)).toBe(email);
    expect(inputOf(row, q.mobile)).toBe(mobile);
    expect(row.target).toBe(email);
    // Questions that are not PII-hash are stored as sent.
    expect(inputOf(row, q.uuid)).toBe('h1');
    expect(inputOf(row, q.name)).toBe('Ann');
    expect(row.uuid).toBe('h1');
    expect(
      row.prefills
        .filter((p) => p.hashed)
        .map((p) => p.questionId)
        .sort(),
    ).toEqual([q.email, q.mobile].sort());
  });

  describe("the original module's hashes, byte for byte", () => {
    // The architecture document's own EventLog example: these inputs, spaces included, and their hashes.
    const REFERENCE_EMAIL = ' kk04@cisco.com ';
    const REFERENCE_EMAIL_HASH =
      'sha512:f0a19d5ea6630aa2f75f86c1d31e5762fe8c9a432a4ec3379b235f062af0e7a8a2b6c5597839af50d8b76bea2526700629cad6eb89d0ca729ebb416c3504478c';
    const REFERENCE_MOBILE = ' 919953973304 ';
    const REFERENCE_MOBILE_HASH =
      'sha512:a285024929f2ae46c1abd6014cad64c68f1a4b4190290e8a2262665d84f8d97ea93fa3d8db438f81247e17668f629f53b73295fe0dc35ce47f9c660a9eaef4f8';

    async function indianAccount() {
      const ctx = await setup();
      const patched = await apiRequest(herald.url, '/api/account/settings', {
        method: 'PATCH',
        token: ctx.apiKey,
        json: { defaultPhoneRegion: 'IN' },
      });
      expect(patched.body).toMatchObject({ defaultPhoneRegion: 'IN', normalizedHashing: false });
      return ctx;
    }

    it('hashes the lower-cased input as received (spaces kept), and normalises only the delivery address', async () => {
      const ctx = await indianAccount();
      const row = await sendOne(ctx, REFERENCE_EMAIL, REFERENCE_MOBILE);
      expect(inputOf(row, ctx.seeded.q.email)).toBe(REFERENCE_EMAIL_HASH);
      expect(inputOf(row, ctx.seeded.q.mobile)).toBe(REFERENCE_MOBILE_HASH);
      expect(row.target).toBe(REFERENCE_EMAIL_HASH);
      // The addresses kept to deliver are the normalised ones.
      const [sealed] = await herald.database.sql.query<{ sealed_originals: string }>(
        `SELECT sealed_originals FROM invitation_records WHERE id = $1`,
        [row.id],
      );
      const originals = JSON.parse(
        openIndependently(Buffer.from(sealed!.sealed_originals, 'base64'), ctx.account.id, row.id),
      ) as string[];
      expect(originals.sort()).toEqual(['+919953973304', 'kk04@cisco.com']);
    });

    it('hashes the normalised values when the account opts into normalised hashing', async () => {
      const ctx = await indianAccount();
      const patched = await apiRequest(herald.url, '/api/account/settings', {
        method: 'PATCH',
        token: ctx.apiKey,
        json: { normalizedHashing: true },
      });
      expect(patched.body).toMatchObject({ normalizedHashing: true });
      const row = await sendOne(ctx, REFERENCE_EMAIL, REFERENCE_MOBILE);
      expect(inputOf(row, ctx.seeded.q.email)).toBe(expectedHash('kk04@cisco.com'));
      expect(inputOf(row, ctx.seeded.q.mobile)).toBe(expectedHash('+919953973304'));
      expect(inputOf(row, ctx.seeded.q.email)).not.toBe(REFERENCE_EMAIL_HASH);
    });

    it('still suppresses a record given as received when its normalised address is unsubscribed', async () => {
      const ctx = await indianAccount();
      const added = await apiRequest(herald.url, '/api/unsubscribes', {
        method: 'POST',
        token: ctx.apiKey,
        json: { identifier: 'kk04@cisco.com', kind: 'email' },
      });
      expect(added.status).toBeLessThan(300);
      const answer = await postDispatchRequest(herald, ctx.apiKey, {
        json: [
          {
            dispatchID: ctx.seeded.dispatchId,
            preFill: [recordOf(ctx.seeded, { uuid: 'u-s', email: REFERENCE_EMAIL, mobile: REFERENCE_MOBILE })],
          },
        ],
      });
      const [row] = await invitationRows(herald.database, ctx.account.id, answer.body.batchId);
      expect(row?.state).toBe('suppressed');
      expect(row?.target).toBe(REFERENCE_EMAIL_HASH);
    });
  });

  it("hashes with sha256 once the account's algorithm is changed through PATCH /api/account/settings", async () => {
    const ctx = await setup();
    const patched = await apiRequest(herald.url, '/api/account/settings', {
      method: 'PATCH',
      token: ctx.apiKey,
      json: { hashAlgorithm: 'sha256' },
    });
    expect(patched.status).toBe(200);
    const row = await sendOne(ctx, 'Ann.Lee@Example.COM', '+44 7911 123456');
    expect(inputOf(row, ctx.seeded.q.email)).toBe(expectedHash('ann.lee@example.com', 'sha256'));
    expect(inputOf(row, ctx.seeded.q.mobile)).toBe(expectedHash('+44 7911 123456', 'sha256'));
    expect(row.target).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('hashes with sha384 when the accounts row says so', async () => {
    const ctx = await setup();
    await herald.database.db.update(accounts).set({ hashAlgorithm: 'sha384' }).where(eq(accounts.id, ctx.account.id));
    const row = await sendOne(ctx, 'bo@example.com', '+16502530000');
    expect(row.target).toBe(expectedHash('bo@example.com', 'sha384'));
    expect(inputOf(row, ctx.seeded.q.mobile)).toBe(expectedHash('+16502530000', 'sha384'));
  });

  describe('a mixed batch', () => {
    // Originals as sent, and the forms Herald keeps sealed (domain lower-cased, E.164).
    const ann = {
      sent: 'Ann.Lee@Example.COM',
      kept: 'Ann.Lee@example.com',
      mobileSent: '+44 7911 123456',
      mobileKept: '+447911123456',
    };
    const dup = { email: 'Dup.Person@example.org', mobile: '+91 98765 43210' };
    const noUuid = { email: 'No.Uuid@example.net', mobile: '+1 650 253 0000' };
    const badEmail = 'broken.address@';
    const allOriginals = [
      ann.sent,
      ann.kept,
      ann.kept.toLowerCase(),
      ann.mobileSent,
      ann.mobileKept,
      '7911123456',
      dup.email,
      dup.email.toLowerCase(),
      dup.mobile,
      '+919876543210',
      noUuid.email,
      noUuid.email.toLowerCase(),
      '+16502530000',
      badEmail,
    ];
    let ctx: Awaited<ReturnType<typeof setup>>;
    let batchId: string;

    beforeAll(async () => {
      ctx = await setup();
      const s = ctx.seeded;
      const answer = await postDispatchRequest(herald, ctx.apiKey, {
        json: [
          {
            dispatchID: s.dispatchId,
            preFill: [
              recordOf(s, { uuid: 'v1', email: ann.sent, mobile: ann.mobileSent, name: 'Ann' }),
              recordOf(s, { uuid: 'v2', email: dup.email, mobile: dup.mobile }), // throttled
              recordOf(s, { uuid: 'V2', email: dup.email, mobile: dup.mobile }), // throttled too
              recordOf(s, { email: noUuid.email, mobile: noUuid.mobile }), // rejected: no UUID
              recordOf(s, { uuid: 'v3', email: badEmail }), // rejected: invalid email
            ],
          },
        ],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch[0]?.dispatchStatus).toBe(206);
      batchId = answer.body.batchId;
      // Wait for the token so the dump below includes what the workers write too.
      await waitFor(async () => (await invitationRows(herald.database, ctx.account.id, batchId))[0]?.token, 20_000, {
        description: 'the accepted invitation to get its token',
      });
    });

    it('seals the originals of accepted hashed values on their invitation, AES-256-GCM, never in plain text', async () => {
      const rows = await herald.database.sql.query<{
        id: string;
        state: string;
        prefills: { input: string; hashed: boolean }[];
        sealed_originals: string | null;
        sealed_key_id: string | null;
      }>('SELECT id, state, prefills, sealed_originals, sealed_key_id FROM invitations WHERE account_id = $1', [
        ctx.account.id,
      ]);
      // Only the accepted record's values: not those of throttled or rejected records.
      const sealedRows = rows.filter((r) => r.sealed_originals !== null);
      expect(sealedRows).toHaveLength(1);
      expect(sealedRows[0]!.state).not.toMatch(/rejected|throttled/);
      const row = sealedRows[0]!;
      const sealed = Buffer.from(row.sealed_originals!, 'base64');
      expect(row.sealed_key_id).toBe('test1');
      for (const original of allOriginals) {
        expect(row.sealed_originals).not.toContain(original);
        expect(sealed.includes(Buffer.from(original, 'utf8'))).toBe(false);
        expect(sealed.includes(Buffer.from(original, 'utf16le'))).toBe(false);
      }
      // The hashes are of the input as sent; the originals kept are the normalised delivery addresses.
      expect(row.prefills.filter((p) => p.hashed).map((p) => p.input)).toEqual([
        expectedHash(ann.sent),
        expectedHash(ann.mobileSent),
      ]);
      expect(JSON.parse(openIndependently(sealed, ctx.account.id, row.id))).toEqual([ann.kept, ann.mobileKept]);
      // Bound to its row: under another account's or invitation's id it does not open.
      expect(() => openIndependently(sealed, randomUUID(), row.id)).toThrow();
      expect(() => openIndependently(sealed, ctx.account.id, randomUUID())).toThrow();
    });

    it('keeps no original PII value in invitations (pending or not), their events, log entries or jobs', async () => {
      const dump = await herald.database.sql.query<{ t: string }>(
        `SELECT coalesce((SELECT json_agg(i)::text FROM invitations i WHERE account_id = $1), '') ||
                coalesce((SELECT json_agg(p)::text FROM pending_invitations p WHERE account_id = $1), '') ||
                coalesce((SELECT json_agg(e)::text FROM invitation_events e WHERE account_id = $1), '') ||
                coalesce((SELECT json_agg(l)::text FROM log_entries l WHERE account_id = $1), '') ||
                coalesce((SELECT json_agg(j)::text FROM pgboss.job j WHERE data->>'accountId' = $2), '') AS t`,
        [ctx.account.id, ctx.account.id],
      );
      const text = dump[0]!.t;
      // The dump really holds this account's rows: hashes and the non-PII name are there.
      expect(text).toContain(expectedHash(ann.kept));
      expect(text).toContain(expectedHash(dup.email));
      expect(text).toContain('Ann');
      for (const original of allOriginals) expect(text.toLowerCase()).not.toContain(original.toLowerCase());
    });

    it('shows originals through POST /api/EventLog only to an admin asking IncludePii, and logs that access', async () => {
      const asAdmin = await apiRequest<EventLogEntry[]>(herald.url, '/api/EventLog', {
        method: 'POST',
        token: ctx.apiKey,
        json: { BatchId: batchId, IncludePii: true },
      });
      expect(asAdmin.status).toBe(200);
      const accepted = asAdmin.body[0]!;
      expect(accepted.state).toBe('token_created');
      expect(accepted.target).toBe(ann.kept);
      expect(accepted.targetHashed).toBe(expectedHash(ann.kept));
      const email = accepted.prefills.find((p) => p.questionId === ctx.seeded.q.email);
      expect(email).toEqual({ questionId: ctx.seeded.q.email, input: ann.kept, input_Hash: expectedHash(ann.kept) });
      expect(accepted.prefills.find((p) => p.questionId === ctx.seeded.q.mobile)?.input).toBe(ann.mobileKept);
      // Values never sealed (a throttled record) stay hashed even for an admin.
      expect(asAdmin.body[1]?.prefills.find((p) => p.questionId === ctx.seeded.q.email)?.input).toBe(
        expectedHash(dup.email),
      );
      const audit = (await logRows(herald.database, ctx.account.id)).filter((l) => /IncludePii/.test(l.message));
      expect(audit).toHaveLength(1);
      expect(audit[0]?.level).toBe('Information');
    });

    it.each(['viewer', 'operator'] as const)(
      'answers 403 to a %s asking IncludePii, and hashes only without it',
      async (role) => {
        const key = await keyFor(herald.database, ctx.account.id, role);
        const refused = await apiRequest<ErrorBody>(herald.url, '/api/EventLog', {
          method: 'POST',
          token: key,
          json: { BatchId: batchId, IncludePii: true },
        });
        expect(refused.status).toBe(403);
        expect(refused.body.error.code).toBe('FORBIDDEN');
        expect(JSON.stringify(refused.body)).not.toContain(ann.kept);

        const plain = await apiRequest<EventLogEntry[]>(herald.url, '/api/EventLog', {
          method: 'POST',
          token: key,
          json: { BatchId: batchId },
        });
        expect(plain.status).toBe(200);
        // The invitations, then the batch's log entries (which carry no personal data either).
        const invitations = plain.body.filter((e) => e.tags[0] === 'UserData');
        expect(invitations).toHaveLength(5);
        expect(plain.body.length).toBeGreaterThan(5);
        expect(invitations[0]?.target).toBe(expectedHash(ann.kept));
        for (const entry of invitations) for (const p of entry.prefills) expect(p.input).toBe(p.input_Hash);
        const text = JSON.stringify(plain.body).toLowerCase();
        for (const original of allOriginals) expect(text).not.toContain(original.toLowerCase());
      },
    );

    it('does not show originals to an admin who does not ask for them', async () => {
      const answer = await apiRequest<EventLogEntry[]>(herald.url, '/api/EventLog', {
        method: 'POST',
        token: ctx.apiKey,
        json: { BatchId: batchId, IncludePii: false },
      });
      expect(answer.status).toBe(200);
      expect(answer.body[0]?.target).toBe(expectedHash(ann.kept));
      expect(JSON.stringify(answer.body)).not.toContain(ann.kept);
    });
  });
});
