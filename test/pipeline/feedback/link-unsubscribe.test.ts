import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction, EventChannel } from '../../../src/timeline/event-numbers.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestHerald } from '../../support/herald.js';
import {
  addMessage,
  eventsOf,
  invitationOf,
  invite,
  messageStatuses,
  requestInvitation,
  seedTeam,
  sha512Of,
  startFeedbackHerald,
  unknownToken,
  type Team,
} from '../../support/feedback.js';

const ONE_CLICK = {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: 'List-Unsubscribe=One-Click',
};

describe.each(databaseKinds())('unsubscribe link /u/{token} on %s', (kind) => {
  let herald: TestHerald;
  let team: Team;
  beforeAll(async () => {
    herald = await startFeedbackHerald(kind);
    team = await seedTeam(herald);
  });
  afterAll(() => herald?.stop());

  const unsubscribeRows = (accountId: string) =>
    herald.database.sql.query<{ identifier_hash: string; source: string; created_at: Date }>(
      `SELECT identifier_hash, source, created_at FROM unsubscribes WHERE account_id = $1 ORDER BY identifier_hash`,
      [accountId],
    );

  it('shows a confirmation form without personal data, and a 404 page for unknown tokens', async () => {
    const invitation = await invite(herald, team, 'page-1', 'Page.Person@Example.com');
    const page = await herald.request(`/u/${invitation.token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toMatch(/<form method="post" action="[^"]*">/);
    expect(html).toContain('List-Unsubscribe');
    expect(html.toLowerCase()).not.toContain('page.person');
    expect(html).not.toContain('page-1');
    // Looking is not unsubscribing.
    expect((await invitationOf(herald.database, team.accountId, 'page-1'))?.unsubscribed_at).toBeNull();

    for (const token of [unknownToken(), 'bad', 'x'.repeat(120)]) {
      for (const init of [{}, ONE_CLICK]) {
        const response = await herald.request(`/u/${token}`, init);
        expect(response.status, token).toBe(404);
        expect(response.headers.get('content-type'), token).toMatch(/^text\/html/);
        expect(await response.text(), token).toContain('This survey link is not valid.');
      }
    }
  });

  it('unsubscribes in one click, idempotently, storing only hashes and cancelling scheduled messages', async () => {
    const invitation = await invite(herald, team, 'Cust-42', 'Ann.Smith@Example.com');
    // The Email question is PII-hash: the invitation already stores the address hashed.
    expect(invitation.target).toBe(sha512Of('ann.smith@example.com'));
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 0, status: 'sent' });
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 1, status: 'scheduled' });

    const first = await herald.request(`/u/${invitation.token}`, ONE_CLICK);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await first.text()).toContain('You are unsubscribed');

    const rows = await unsubscribeRows(team.accountId);
    expect(rows.map((r) => r.identifier_hash).sort()).toEqual(
      [sha512Of('ann.smith@example.com'), sha512Of('cust-42')].sort(),
    );
    expect(rows.every((r) => r.source === 'link')).toBe(true);
    expect(JSON.stringify(rows).toLowerCase()).not.toMatch(/ann\.smith|cust-42/);
    const unsubscribed = await invitationOf(herald.database, team.accountId, 'Cust-42');
    expect(unsubscribed?.unsubscribed_at).toBeInstanceOf(Date);
    expect(await messageStatuses(herald.database, invitation.id)).toEqual({ 0: 'sent', 1: 'cancelled' });
    expect(await eventsOf(herald.database, invitation.id, EventAction.Unsubscribed)).toEqual([
      { action: EventAction.Unsubscribed, channel: EventChannel.Email },
    ]);

    const again = await herald.request(`/u/${invitation.token}`, ONE_CLICK);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('You are unsubscribed');
    expect(await unsubscribeRows(team.accountId)).toEqual(rows);
    expect((await invitationOf(herald.database, team.accountId, 'Cust-42'))?.unsubscribed_at).toEqual(
      unsubscribed?.unsubscribed_at,
    );
    expect(await eventsOf(herald.database, invitation.id, EventAction.Unsubscribed)).toHaveLength(1);

    // Later requests for the same address are suppressed, whatever the UUID.
    expect(await requestInvitation(herald, team, 'Cust-43', 'ann.smith@EXAMPLE.com')).toBe(400);
    expect((await invitationOf(herald.database, team.accountId, 'Cust-43'))?.state).toBe('suppressed');
  });

  it('unsubscribes the normalised address too when the address was sent with spaces (stored hash as received)', async () => {
    const invitation = await invite(herald, team, 'Spaced-1', ' Spaced.Person@Example.com ');
    // The original module's hash: of the lower-cased input as received.
    expect(invitation.target).toBe(sha512Of(' spaced.person@example.com '));
    expect((await herald.request(`/u/${invitation.token}`, ONE_CLICK)).status).toBe(200);
    const hashes = (await unsubscribeRows(team.accountId)).map((r) => r.identifier_hash);
    expect(hashes).toEqual(
      expect.arrayContaining([sha512Of(' spaced.person@example.com '), sha512Of('spaced.person@example.com')]),
    );
    // A later request with the address written cleanly is suppressed as well.
    expect(await requestInvitation(herald, team, 'Spaced-2', 'spaced.person@example.com')).toBe(400);
    expect((await invitationOf(herald.database, team.accountId, 'Spaced-2'))?.state).toBe('suppressed');
  });

  it('accepts an empty body and a multipart/form-data body', async () => {
    const empty = await invite(herald, team, 'empty-body', 'empty@example.com');
    const answer = await herald.request(`/u/${empty.token}`, { method: 'POST' });
    expect(answer.status).toBe(200);
    expect((await invitationOf(herald.database, team.accountId, 'empty-body'))?.unsubscribed_at).toBeInstanceOf(Date);

    const multipart = await invite(herald, team, 'multipart-body', 'multipart@example.com');
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const multipartAnswer = await herald.request(`/u/${multipart.token}`, { method: 'POST', body: form });
    expect(multipartAnswer.status).toBe(200);
    expect((await invitationOf(herald.database, team.accountId, 'multipart-body'))?.unsubscribed_at).toBeInstanceOf(
      Date,
    );
  });

  it('hashes an address stored raw before it goes on the list', async () => {
    const raw = await seedTeam(herald);
    await herald.database.sql.query(`UPDATE questions SET pii = 'none' WHERE id = $1`, [raw.seeded.q.email]);
    const invitation = await invite(herald, raw, 'Raw-1', 'Bob.Jones@Example.com');
    expect(invitation.target?.toLowerCase()).toBe('bob.jones@example.com');

    expect((await herald.request(`/u/${invitation.token}`, ONE_CLICK)).status).toBe(200);
    const rows = await unsubscribeRows(raw.accountId);
    expect(rows.map((r) => r.identifier_hash).sort()).toEqual(
      [sha512Of('bob.jones@example.com'), sha512Of('raw-1')].sort(),
    );
    expect(await eventsOf(herald.database, invitation.id, EventAction.Unsubscribed)).toEqual([
      { action: EventAction.Unsubscribed, channel: EventChannel.Unknown },
    ]);

    expect(await requestInvitation(herald, raw, 'Raw-2', 'bob.jones@example.com')).toBe(400);
    expect((await invitationOf(herald.database, raw.accountId, 'Raw-2'))?.state).toBe('suppressed');
    // Another account's list is its own.
    expect(await unsubscribeRows(team.accountId)).not.toContainEqual(
      expect.objectContaining({ identifier_hash: sha512Of('bob.jones@example.com') }),
    );
  });
});
