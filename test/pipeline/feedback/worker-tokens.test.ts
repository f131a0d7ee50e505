import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { waitFor } from '../../support/wait.js';
import { eventsOf, invitationOf, requestInvitation, seedTeam, sha512Of, type Team } from '../../support/feedback.js';

describe.each(databaseKinds())('links with tokens made by the workers on %s', (kind) => {
  let herald: TestHerald;
  let team: Team;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { env: { HERALD_TOKEN_FLUSH_MS: '0' } });
    team = await seedTeam(herald);
  });
  afterAll(() => herald?.stop());

  it('opens the survey and unsubscribes through the links of a real invitation', async () => {
    expect(await requestInvitation(herald, team, 'live-1', 'live@example.com')).toBe(202);
    const { id, token } = await waitFor(
      async () => {
        const row = await invitationOf(herald.database, team.accountId, 'live-1');
        return row?.token ? { id: row.id, token: row.token } : undefined;
      },
      20_000,
      { description: 'the invitation has a token' },
    );

    const opened = await herald.request(`/s/${token}`, { redirect: 'manual' });
    expect(opened.status).toBe(302);
    expect(new URL(opened.headers.get('location')!).searchParams.get('token')).toBe(token);
    expect((await invitationOf(herald.database, team.accountId, 'live-1'))?.open_count).toBe(1);
    expect(await eventsOf(herald.database, id, EventAction.Opened)).toHaveLength(1);

    const unsubscribed = await herald.request(`/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(unsubscribed.status).toBe(200);
    const hashes = await herald.database.sql.query<{ identifier_hash: string }>(
      `SELECT identifier_hash FROM unsubscribes WHERE account_id = $1`,
      [team.accountId],
    );
    expect(hashes.map((h) => h.identifier_hash)).toContain(sha512Of('live@example.com'));
  });
});
