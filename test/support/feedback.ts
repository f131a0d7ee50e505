import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { newSurveyToken } from '../../src/platforms/standalone/standalone-platform.js';
import type { Database } from '../../src/storage/database.js';
import type { Channel, MessageStatus } from '../../src/storage/schema.js';
import { seedAccount } from './accounts.js';
import type { DatabaseKind } from './databases.js';
import { startTestHerald, type TestHerald } from './herald.js';
import { seedDispatch, type SeededDispatch } from './platform.js';

/** The stored form of an identifier, computed independently of Herald's own hashing code. */
export const sha512Of = (value: string) => `sha512:${createHash('sha512').update(value.toLowerCase()).digest('hex')}`;

/**
 * Herald without workers: tokens are given below, and no scheduler or dispatcher touches the
 * messages a test writes. Ingest (and so suppression) runs in the API itself.
 */
export const startFeedbackHerald = (kind: DatabaseKind) =>
  startTestHerald(kind, { roles: { api: true, workers: false } });

export interface Team {
  accountId: string;
  apiKey: string;
  seeded: SeededDispatch;
}

/** An account with an admin key and a live email dispatch (Email PII-hash, UUID raw). */
export async function seedTeam(herald: TestHerald): Promise<Team> {
  const { account, apiKey } = await seedAccount(herald.database);
  return { accountId: account.id, apiKey, seeded: await seedDispatch(herald.database, account.id) };
}

export interface InvitationRow {
  id: string;
  state: string;
  token: string | null;
  target: string | null;
  uuid: string | null;
  open_count: number;
  first_opened_at: Date | null;
  answered_at: Date | null;
  completed_at: Date | null;
  unsubscribed_at: Date | null;
}

export async function invitationOf(
  database: Database,
  accountId: string,
  uuid: string,
): Promise<InvitationRow | undefined> {
  const [row] = await database.sql.query<InvitationRow>(
    `SELECT id, state, token, target, uuid, open_count, first_opened_at, answered_at, completed_at, unsubscribed_at
     FROM invitations WHERE account_id = $1 AND uuid = $2`,
    [accountId, uuid],
  );
  return row;
}

/** Sends one record through POST /api/dispatchRequest; the answer's per-dispatch status is returned. */
export async function requestInvitation(herald: TestHerald, team: Team, uuid: string, email: string): Promise<number> {
  const { seeded } = team;
  const response = await herald.request('/api/dispatchRequest', {
    method: 'POST',
    token: team.apiKey,
    json: [
      {
        dispatchID: seeded.dispatchId,
        preFill: [
          [
            { questionId: seeded.q.uuid, input: uuid },
            { questionId: seeded.q.email, input: email },
          ],
        ],
      },
    ],
  });
  expect(response.status).toBe(207);
  const body = (await response.json()) as { statusByDispatch: { dispatchStatus: number }[] };
  return body.statusByDispatch[0]!.dispatchStatus;
}

/**
 * Invites one recipient through POST /api/dispatchRequest, so the invitation is stored exactly as
 * ingest stores it, then gives it a token as the token workers would (they do not run here).
 */
export async function invite(
  herald: TestHerald,
  team: Team,
  uuid: string,
  email: string,
): Promise<InvitationRow & { token: string }> {
  expect(await requestInvitation(herald, team, uuid, email)).toBe(202);
  const token = newSurveyToken();
  // What the token job does (workers are off here): the pending invitation becomes a row with a token.
  await herald.database.sql.query(
    `WITH moved AS (DELETE FROM pending_invitations WHERE account_id = $2 RETURNING *)
     INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target,
                              language, prefills, sealed_originals, sealed_key_id, token, created_at)
     SELECT x.id, m.account_id, m.batch_id, m.dispatch_id, x.record_index, 'token_created', x.uuid, x.channel, x.target,
            x.language, x.prefills, x.sealed_originals, x.sealed_key_id, $1, m.created_at
     FROM moved m CROSS JOIN LATERAL json_to_recordset(m.invitations::json) AS x(id uuid, record_index int, uuid text,
       channel text, target text, language text, prefills jsonb, sealed_originals text, sealed_key_id text)
     WHERE x.uuid = $3`,
    [token, team.accountId, uuid],
  );
  const row = await invitationOf(herald.database, team.accountId, uuid);
  expect(row?.token).toBe(token);
  return { ...row!, token };
}

/** A message row as the scheduler would write it. */
export async function addMessage(
  database: Database,
  team: Team,
  invitationId: string,
  message: { reminderLevel: number; status: MessageStatus; channel?: Channel },
): Promise<string> {
  const [row] = await database.sql.query<{ id: string }>(
    `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at, sent_at)
     VALUES ($1, $2, $3, $4, $5, $6, now(), CASE WHEN $6 = 'sent' THEN now() END) RETURNING id`,
    [
      team.accountId,
      invitationId,
      team.seeded.dispatchId,
      message.channel ?? 'email',
      message.reminderLevel,
      message.status,
    ],
  );
  return row!.id;
}

export async function messageStatuses(database: Database, invitationId: string): Promise<Record<number, string>> {
  const rows = await database.sql.query<{ reminder_level: number; status: string }>(
    `SELECT reminder_level, status FROM messages WHERE invitation_id = $1`,
    [invitationId],
  );
  return Object.fromEntries(rows.map((r) => [r.reminder_level, r.status]));
}

/** An invitation's timeline entries of `action`, oldest first. */
export function eventsOf(
  database: Database,
  invitationId: string,
  action: number,
): Promise<{ action: number; channel: number }[]> {
  return database.sql.query(
    `SELECT action, channel FROM invitation_events WHERE invitation_id = $1 AND action = $2 ORDER BY id`,
    [invitationId, action],
  );
}

/** A token of the right shape that no invitation has. */
export const unknownToken = () => randomBytes(18).toString('base64url');
