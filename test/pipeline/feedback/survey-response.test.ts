import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction, EventChannel } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestHerald } from '../../support/herald.js';
import {
  addMessage,
  eventsOf,
  invitationOf,
  invite,
  messageStatuses,
  seedTeam,
  startFeedbackHerald,
  type Team,
} from '../../support/feedback.js';

interface ResponseAnswer {
  token: string;
  answeredAt: string;
  completedAt: string | null;
  cancelledReminders: number;
}

describe.each(databaseKinds())('POST /api/responses on %s', (kind) => {
  let herald: TestHerald;
  let team: Team;
  beforeAll(async () => {
    herald = await startFeedbackHerald(kind);
    team = await seedTeam(herald);
  });
  afterAll(() => herald?.stop());

  const respond = (json: unknown, token: string | undefined = team.apiKey) =>
    herald.request('/api/responses', { method: 'POST', token, json });

  it('records answered and completed once each and cancels the pending reminders', async () => {
    const invitation = await invite(herald, team, 'resp-1', 'resp1@example.com');
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 0, status: 'sent' });
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 1, status: 'scheduled' });
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 2, status: 'scheduled' });

    const answered = await respond({ token: invitation.token, answers: { q1: 5, q2: 'fine' }, completed: false });
    expect(answered.status).toBe(200);
    const first = (await answered.json()) as ResponseAnswer;
    expect(first).toMatchObject({ token: invitation.token, completedAt: null, cancelledReminders: 2 });
    expect(Number.isNaN(Date.parse(first.answeredAt))).toBe(false);
    expect(await messageStatuses(herald.database, invitation.id)).toEqual({
      0: 'sent',
      1: 'cancelled',
      2: 'cancelled',
    });

    const completed = await respond({ token: invitation.token, completed: true });
    expect(completed.status).toBe(200);
    const second = (await completed.json()) as ResponseAnswer;
    expect(second.answeredAt).toBe(first.answeredAt);
    expect(second.completedAt).not.toBeNull();
    expect(second.cancelledReminders).toBe(0);

    const repeated = (await (await respond({ token: invitation.token, completed: true })).json()) as ResponseAnswer;
    expect(repeated).toEqual(second);
    // A later "not completed" report does not undo the completion.
    const notCompleted = (await (
      await respond({ token: invitation.token, completed: false })
    ).json()) as ResponseAnswer;
    expect(notCompleted.completedAt).toBe(second.completedAt);

    const row = await invitationOf(herald.database, team.accountId, 'resp-1');
    expect(row?.answered_at?.toISOString()).toBe(first.answeredAt);
    expect(row?.completed_at?.toISOString()).toBe(second.completedAt);
    expect(await eventsOf(herald.database, invitation.id, EventAction.Answered)).toEqual([
      { action: EventAction.Answered, channel: EventChannel.DispatchAPI },
    ]);
    expect(await eventsOf(herald.database, invitation.id, EventAction.Completed)).toEqual([
      { action: EventAction.Completed, channel: EventChannel.DispatchAPI },
    ]);
  });

  it('records a completion reported first as both answered and completed, leaving the first message alone', async () => {
    const invitation = await invite(herald, team, 'resp-2', 'resp2@example.com');
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 0, status: 'scheduled' });
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 1, status: 'scheduled' });
    const answer = (await (await respond({ token: invitation.token, completed: true })).json()) as ResponseAnswer;
    expect(answer.completedAt).toBe(answer.answeredAt);
    expect(answer.cancelledReminders).toBe(1);
    expect(await messageStatuses(herald.database, invitation.id)).toEqual({ 0: 'scheduled', 1: 'cancelled' });
    expect(await eventsOf(herald.database, invitation.id, EventAction.Answered)).toHaveLength(1);
    expect(await eventsOf(herald.database, invitation.id, EventAction.Completed)).toHaveLength(1);
  });

  it("answers 404 for an unknown token or another account's, 401 without credentials, 403 to a viewer", async () => {
    const invitation = await invite(herald, team, 'resp-3', 'resp3@example.com');
    const other = await seedAccount(herald.database, 'operator');
    const foreign = await respond({ token: invitation.token, completed: true }, other.apiKey);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await respond({ token: 'NoSuchToken_12345678', completed: false })).status).toBe(404);

    expect((await respond({ token: invitation.token, completed: true }, '')).status).toBe(401);
    const viewer = await seedAccount(herald.database, 'viewer');
    expect((await respond({ token: invitation.token, completed: true }, viewer.apiKey)).status).toBe(403);

    const untouched = await invitationOf(herald.database, team.accountId, 'resp-3');
    expect(untouched?.answered_at).toBeNull();
    expect(await eventsOf(herald.database, invitation.id, EventAction.Answered)).toEqual([]);
  });

  it('limits answers to 100 keys and requires completed', async () => {
    const invitation = await invite(herald, team, 'resp-4', 'resp4@example.com');
    const answers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`q${i}`, i]));
    const tooMany = await respond({ token: invitation.token, answers: answers(101), completed: false });
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
    expect((await respond({ token: invitation.token })).status).toBe(400);
    expect((await invitationOf(herald.database, team.accountId, 'resp-4'))?.answered_at).toBeNull();

    const enough = await respond({ token: invitation.token, answers: answers(100), completed: false });
    expect(enough.status).toBe(200);
  });
});
