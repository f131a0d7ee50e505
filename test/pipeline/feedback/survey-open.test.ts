import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction, EventChannel } from '../../../src/timeline/event-numbers.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestHerald } from '../../support/herald.js';
import {
  addMessage,
  eventsOf,
  invitationOf,
  invite,
  seedTeam,
  startFeedbackHerald,
  unknownToken,
  type Team,
} from '../../support/feedback.js';

describe.each(databaseKinds())('survey link /s/{token} on %s', (kind) => {
  let herald: TestHerald;
  let team: Team;
  beforeAll(async () => {
    herald = await startFeedbackHerald(kind);
    team = await seedTeam(herald);
  });
  afterAll(() => herald?.stop());

  const open = (token: string, method = 'GET') => herald.request(`/s/${token}`, { method, redirect: 'manual' });
  const setSurveyUrl = (url: string | null) =>
    herald.database.sql.query(`UPDATE questionnaires SET survey_url = $1 WHERE id = $2`, [
      url,
      team.seeded.questionnaireId,
    ]);

  it('redirects to the survey with the token, counts every open and records the first once', async () => {
    await setSurveyUrl('https://survey.example/run?lang=en');
    const invitation = await invite(herald, team, 'open-1', 'open1@example.com');
    expect(invitation.open_count).toBe(0);

    const first = await open(invitation.token);
    expect(first.status).toBe(302);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const location = new URL(first.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://survey.example/run');
    expect(location.searchParams.get('lang')).toBe('en');
    expect(location.searchParams.get('token')).toBe(invitation.token);

    const afterFirst = await invitationOf(herald.database, team.accountId, 'open-1');
    expect(afterFirst?.open_count).toBe(1);
    expect(afterFirst?.first_opened_at).toBeInstanceOf(Date);

    const second = await open(invitation.token);
    expect(second.status).toBe(302);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    const afterSecond = await invitationOf(herald.database, team.accountId, 'open-1');
    expect(afterSecond?.open_count).toBe(2);
    expect(afterSecond?.first_opened_at).toEqual(afterFirst?.first_opened_at);

    const opened = await eventsOf(herald.database, invitation.id, EventAction.Opened);
    expect(opened).toEqual([{ action: EventAction.Opened, channel: EventChannel.Unknown }]);
  });

  it('records one Opened entry however many opens race, on the channel the message went by', async () => {
    await setSurveyUrl('https://survey.example/s');
    const invitation = await invite(herald, team, 'open-race', 'race@example.com');
    await addMessage(herald.database, team, invitation.id, { reminderLevel: 0, status: 'sent', channel: 'email' });

    const answers = await Promise.all(Array.from({ length: 6 }, () => open(invitation.token)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(302));
    expect((await invitationOf(herald.database, team.accountId, 'open-race'))?.open_count).toBe(6);
    const opened = await eventsOf(herald.database, invitation.id, EventAction.Opened);
    expect(opened).toEqual([{ action: EventAction.Opened, channel: EventChannel.Email }]);
  });

  it('answers HEAD like GET without counting an open', async () => {
    await setSurveyUrl('https://survey.example/s');
    const invitation = await invite(herald, team, 'open-head', 'head@example.com');
    const head = await open(invitation.token, 'HEAD');
    expect(head.status).toBe(302);
    expect(new URL(head.headers.get('location')!).searchParams.get('token')).toBe(invitation.token);
    expect((await invitationOf(herald.database, team.accountId, 'open-head'))?.open_count).toBe(0);
    expect(await eventsOf(herald.database, invitation.id, EventAction.Opened)).toEqual([]);
    expect((await open(unknownToken(), 'HEAD')).status).toBe(404);
  });

  it('answers an HTML 404 page for unknown and malformed tokens', async () => {
    const malformed = ['short', 'a'.repeat(65), 'has%20space%20in%20it%20xx', 'b'.repeat(150), "quote'quote'quote'x"];
    for (const token of [unknownToken(), ...malformed]) {
      const response = await open(token);
      expect(response.status, token).toBe(404);
      expect(response.headers.get('content-type'), token).toMatch(/^text\/html/);
      const text = await response.text();
      expect(text, token).toContain('This survey link is not valid.');
      expect(text, token).not.toContain('"error"');
    }
  });

  it('answers a "not available" page, counting nothing, when the questionnaire has no survey URL', async () => {
    await setSurveyUrl('https://survey.example/s');
    const invitation = await invite(herald, team, 'open-nourl', 'nourl@example.com');
    await setSurveyUrl(null);
    const response = await open(invitation.token);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('This survey is not available.');
    expect((await invitationOf(herald.database, team.accountId, 'open-nourl'))?.open_count).toBe(0);
    expect(await eventsOf(herald.database, invitation.id, EventAction.Opened)).toEqual([]);
  });

  it('is documented as public, beside the unsubscribe link and the responses API', async () => {
    const document = (await (await herald.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    expect(Object.keys(document.paths['/s/{token}'] ?? {})).toEqual(['get']);
    expect(Object.keys(document.paths['/u/{token}'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(document.paths['/s/{token}']?.get?.security).toEqual([]);
    expect(document.paths['/u/{token}']?.post?.security).toEqual([]);
    expect(document.paths['/api/responses']?.post?.security).toBeUndefined();
  });
});
