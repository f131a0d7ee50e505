import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDueMessages } from '../../src/pipeline/dispatch/claim-messages.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { dropPostgresDatabase } from '../support/postgres-cleanup.js';

describe.each(databaseKinds())('the due backlog token creation waits on, on %s', (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await test?.database.close();
    await dropPostgresDatabase(test?.url);
  });

  it('counts the messages a claim could take now, and stops counting at the limit', async () => {
    const { sql } = test.database;
    const { account } = await seedAccount(test.database);
    const now = new Date('2026-11-24T12:00:00Z');
    const minutes = (m: number) => new Date(now.getTime() + m * 60_000).toISOString();
    const messages: [status: string, dueAt: string][] = [
      ['scheduled', minutes(-5)],
      ['scheduled', minutes(0)],
      ['rate_limited', minutes(-1)],
      ['manual_retry', minutes(-1)],
      ['scheduled', minutes(1)], // not due yet
      ['rate_limited', minutes(10)], // not due yet
      ['sending', minutes(-5)], // claimed already
      ['sent', minutes(-5)],
      ['error', minutes(-5)],
    ];
    for (const [status, dueAt] of messages) {
      const invitationId = randomUUID();
      await sql.query(
        `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, prefills, token)
         VALUES ($1, $2, 'batch', $2, 0, 'token_created', '[]', $3)`,
        [invitationId, account.id, `token-${invitationId}`],
      );
      await sql.query(
        `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at)
         VALUES ($1, $2, $1, 'email', 0, $3, $4)`,
        [account.id, invitationId, status, dueAt],
      );
    }
    expect(await countDueMessages(sql, now, 100)).toBe(4);
    expect(await countDueMessages(sql, now, 3)).toBe(3);
    expect(await countDueMessages(sql, new Date(minutes(10)), 100)).toBe(6);
  });
});
