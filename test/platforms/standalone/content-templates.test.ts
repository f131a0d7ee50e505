import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../src/accounts/api-keys.js';
import { dispatches } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { seedDispatch } from '../../support/platform.js';

interface Answer {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whatever shape the route answers
  body: any;
}

type Call = (method: string, path: string, json?: unknown) => Promise<Answer>;

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

const emailVariant = (language: string, greeting: string) => ({
  language,
  subject: `${greeting} {{prefills.Name}}`,
  html: `<p>${greeting} {{prefills.[Customer name]}}</p><a href="{{surveyLink}}">{{dispatchName}}</a>`,
  text: `${greeting} {{prefills.Name}}: {{surveyLink}}`,
});

const emailTemplate = {
  name: 'Invitation',
  channel: 'email',
  variants: [emailVariant('es', 'Hola'), emailVariant('en', 'Hello'), emailVariant('fr', 'Bonjour')],
};

/** Asserts Herald's one error shape, the status and code, and that the message names each of `mentions`. */
function expectError(answer: Answer, status: number, code: string, ...mentions: string[]): string {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.body).toMatchObject({ error: { code }, requestId: expect.any(String) as unknown });
  const message = (answer.body as { error: { message: string } }).error.message;
  for (const mention of mentions) expect(message).toContain(mention);
  return message;
}

describe.each(databaseKinds())('content templates on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  const caller =
    (token: string): Call =>
    async (method, path, json) => {
      const response = await herald.request(path, { method, token, json });
      const text = await response.text();
      return { status: response.status, text, body: text ? (JSON.parse(text) as unknown) : undefined };
    };

  /** A new account with an admin and a viewer. */
  async function seedTeam() {
    const { account, apiKey } = await seedAccount(herald.database, 'admin');
    const viewer = await createApiKey(herald.database.db, { accountId: account.id, name: 'view', role: 'viewer' });
    return { account, admin: caller(apiKey), viewer: caller(viewer.key) };
  }

  async function created(admin: Call, json: unknown): Promise<{ id: string }> {
    const answer = await admin('POST', '/api/templates', json);
    expect(answer.status, answer.text).toBe(201);
    return answer.body as { id: string };
  }

  it('creates, reads, lists, changes and deletes a template', async () => {
    const { admin } = await seedTeam();
    const answer = await admin('POST', '/api/templates', emailTemplate);
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toEqual({
      ...emailTemplate,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      createdAt: expect.any(String) as unknown,
    });
    const { id } = answer.body as { id: string };
    expect((await admin('GET', `/api/templates/${id}`)).body).toEqual(answer.body);

    const sms = await created(admin, {
      name: 'A text',
      channel: 'sms',
      variants: [{ language: 'en', text: 'Tell us: {{surveyLink}}' }],
    });
    const listed = await admin('GET', '/api/templates');
    expect(listed.status).toBe(200);
    expect((listed.body as { id: string }[]).map((t) => t.id)).toEqual([sms.id, id]);

    const renamed = await admin('PATCH', `/api/templates/${id}`, { name: 'Renamed' });
    expect(renamed.body).toMatchObject({ name: 'Renamed', channel: 'email', variants: emailTemplate.variants });
    const replaced = await admin('PATCH', `/api/templates/${id}`, {
      variants: [{ language: 'de', subject: 'Hallo', text: 'Hallo {{surveyLink}}' }],
    });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.body).toMatchObject({
      name: 'Renamed',
      variants: [{ language: 'de', subject: 'Hallo', text: 'Hallo {{surveyLink}}' }],
    });
    expect((await admin('GET', `/api/templates/${id}`)).body).toEqual(replaced.body);
    expectError(await admin('PATCH', `/api/templates/${id}`, { channel: 'sms' }), 400, 'VALIDATION_FAILED', 'channel');

    expect((await admin('DELETE', `/api/templates/${id}`)).status).toBe(204);
    expectError(await admin('GET', `/api/templates/${id}`), 404, 'NOT_FOUND');
    expect((await admin('GET', '/api/templates')).body).toEqual([expect.objectContaining({ id: sms.id })]);
  });

  it('rejects a template that does not compile, naming the part, the language and the line', async () => {
    const { admin } = await seedTeam();
    const broken = {
      name: 'Broken',
      channel: 'email',
      variants: [
        emailVariant('en', 'Hello'),
        { language: 'fr', subject: 'Bonjour', html: '<p>\nBonjour\n{{#if prefills.Name}}', text: 'Bonjour' },
      ],
    };
    const message = expectError(await admin('POST', '/api/templates', broken), 400, 'VALIDATION_FAILED', 'html (fr)');
    expect(message).toMatch(/line 3: Expecting .*got 'EOF'/);
    expectError(
      await admin('POST', '/api/templates', {
        name: 'Unknown helper',
        channel: 'whatsapp',
        variants: [{ language: 'en', text: 'Hi\n{{upper prefills.Name}}' }],
      }),
      400,
      'VALIDATION_FAILED',
      'text (en), line 2',
      'upper',
    );
    expect((await admin('GET', '/api/templates')).body).toEqual([]);

    // An update is checked the same way and leaves the template as it was.
    const { id } = await created(admin, emailTemplate);
    expectError(
      await admin('PATCH', `/api/templates/${id}`, {
        variants: [{ language: 'en', subject: 'Hi {{prefills.Name', text: 'x' }],
      }),
      400,
      'VALIDATION_FAILED',
      'subject (en), line 1',
    );
    expect((await admin('GET', `/api/templates/${id}`)).body).toMatchObject({ variants: emailTemplate.variants });
  });

  it("rejects variants that break the channel's rules", async () => {
    const { admin } = await seedTeam();
    const post = (channel: string, variants: unknown[]) =>
      admin('POST', '/api/templates', { name: 'T', channel, variants });
    expectError(await post('email', [{ language: 'en', text: 'x' }]), 400, 'VALIDATION_FAILED', 'variants.0.subject');
    expectError(
      await post('sms', [{ language: 'en', text: 'x', html: '<p>x</p>' }]),
      400,
      'VALIDATION_FAILED',
      'variants.0.html',
      'only for email',
    );
    expectError(
      await post('whatsapp', [{ language: 'en', subject: 'S', text: 'x' }]),
      400,
      'VALIDATION_FAILED',
      'variants.0.subject',
    );
    expectError(
      await post('email', [
        { language: 'fr', subject: 'S', text: 'x' },
        { language: 'en', subject: 'S', text: 'x' },
        { language: 'fr', subject: 'T', text: 'y' },
      ]),
      400,
      'VALIDATION_FAILED',
      'variants.2.language',
      '"fr"',
    );
    expectError(await post('sms', []), 400, 'VALIDATION_FAILED', 'variants');
    expectError(await post('sms', [{ language: 'EN', text: 'x' }]), 400, 'VALIDATION_FAILED', 'language');
    expectError(await post('sms', [{ language: 'eng', text: 'x' }]), 400, 'VALIDATION_FAILED', 'language');
    expectError(await post('fax', [{ language: 'en', text: 'x' }]), 400, 'VALIDATION_FAILED', 'channel');
    expectError(await post('sms', [{ language: 'en', text: 'x'.repeat(1601) }]), 400, 'VALIDATION_FAILED', '1600');
    expectError(
      await post('email', [{ language: 'en', subject: 'S'.repeat(999), text: 'x' }]),
      400,
      'VALIDATION_FAILED',
      'subject',
    );
    // 100 KB of text is measured in UTF-8 bytes: 40,000 four-byte characters are 160,000 bytes.
    expectError(
      await post('whatsapp', [{ language: 'en', text: '😀'.repeat(40_000) }]),
      400,
      'VALIDATION_FAILED',
      'variants.0.text',
      '100 KB',
    );
    expect((await post('sms', [{ language: 'en', text: 'x'.repeat(1600) }])).status).toBe(201);
    expect((await admin('GET', '/api/templates')).body).toHaveLength(1);
  });

  it('escapes prefills in html and not in text or subject', async () => {
    const { admin } = await seedTeam();
    const { id } = await created(admin, emailTemplate);
    const script = '<script>alert(1)</script>';
    const preview = await admin('POST', `/api/templates/${id}/preview`, {
      language: 'en',
      prefills: { Name: script, 'Customer name': script },
    });
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body).toEqual({
      language: 'en',
      subject: `Hello ${script}`,
      html: '<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p><a href="https://survey.example/s/SAMPLE-TOKEN">Sample dispatch</a>',
      text: `Hello ${script}: https://survey.example/s/SAMPLE-TOKEN`,
    });
  });

  it('previews the variant of the language asked, else English, else the first', async () => {
    const { admin, viewer } = await seedTeam();
    const { id } = await created(admin, emailTemplate);
    const languageOf = async (json: unknown) => {
      const answer = await viewer('POST', `/api/templates/${id}/preview`, json);
      expect(answer.status, answer.text).toBe(200);
      return (answer.body as { language: string; text: string }).language;
    };
    expect(await languageOf({ language: 'fr' })).toBe('fr');
    expect(await languageOf({ language: 'de' })).toBe('en');
    expect(await languageOf({})).toBe('es');

    const noEnglish = await created(admin, {
      name: 'No English',
      channel: 'sms',
      variants: [
        { language: 'es', text: 'Hola' },
        { language: 'fr', text: 'Bonjour' },
      ],
    });
    const answer = await viewer('POST', `/api/templates/${noEnglish.id}/preview`, { language: 'de' });
    expect(answer.body).toEqual({ language: 'es', text: 'Hola' });
  });

  it('fills what a preview does not give with sample data', async () => {
    const { admin } = await seedTeam();
    const { id } = await created(admin, emailTemplate);
    const sample = await admin('POST', `/api/templates/${id}/preview`, { language: 'fr' });
    expect(sample.body).toEqual({
      language: 'fr',
      subject: 'Bonjour [Name]',
      html: '<p>Bonjour [Customer name]</p><a href="https://survey.example/s/SAMPLE-TOKEN">Sample dispatch</a>',
      text: 'Bonjour [Name]: https://survey.example/s/SAMPLE-TOKEN',
    });
    const given = await admin('POST', `/api/templates/${id}/preview`, {
      language: 'fr',
      prefills: { Name: 'Ann' },
      surveyLink: 'https://herald.example/s/abc',
      dispatchName: 'Spring',
    });
    expect(given.body).toMatchObject({
      subject: 'Bonjour Ann',
      html: '<p>Bonjour [Customer name]</p><a href="https://herald.example/s/abc">Spring</a>',
      text: 'Bonjour Ann: https://herald.example/s/abc',
    });
  });

  it('previews an unsaved variant, and answers 400 with the line when it does not compile', async () => {
    const { viewer } = await seedTeam();
    const ok = await viewer('POST', '/api/templates/preview', {
      channel: 'whatsapp',
      variant: { language: 'pt', text: 'Olá {{prefills.Name}}, {{unsubscribeLink}}' },
      prefills: { Name: 'Ana' },
      unsubscribeLink: 'https://herald.example/u/abc',
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ language: 'pt', text: 'Olá Ana, https://herald.example/u/abc' });

    expectError(
      await viewer('POST', '/api/templates/preview', {
        channel: 'email',
        variant: { language: 'en', subject: 'S', html: '<p>\n{{#each prefills}}\n{{/if}}', text: 'x' },
      }),
      400,
      'VALIDATION_FAILED',
      'html (en), line 2',
      "each doesn't match if",
    );
    expectError(
      await viewer('POST', '/api/templates/preview', {
        channel: 'sms',
        variant: { language: 'en', subject: 'S', text: 'x' },
      }),
      400,
      'VALIDATION_FAILED',
      'variant.subject',
    );
  });

  it("answers 404 for another account's template and for ids that are not uuids", async () => {
    const a = await seedTeam();
    const b = await seedTeam();
    const { id } = await created(a.admin, emailTemplate);
    expectError(await b.admin('GET', `/api/templates/${id}`), 404, 'NOT_FOUND');
    expectError(await b.admin('PATCH', `/api/templates/${id}`, { name: 'Mine' }), 404, 'NOT_FOUND');
    expectError(await b.admin('DELETE', `/api/templates/${id}`), 404, 'NOT_FOUND');
    expectError(await b.admin('POST', `/api/templates/${id}/preview`, {}), 404, 'NOT_FOUND');
    expect((await b.admin('GET', '/api/templates')).body).toEqual([]);
    expectError(await a.admin('GET', '/api/templates/42'), 404, 'NOT_FOUND');
    expectError(await a.admin('DELETE', `/api/templates/${UNKNOWN_ID}`), 404, 'NOT_FOUND');
    expect((await a.admin('GET', `/api/templates/${id}`)).body).toMatchObject({ name: 'Invitation' });
  });

  it('lets viewers read and preview but not write', async () => {
    const { admin, viewer } = await seedTeam();
    const { id } = await created(admin, emailTemplate);
    expect((await viewer('GET', `/api/templates/${id}`)).status).toBe(200);
    expect((await viewer('GET', '/api/templates')).status).toBe(200);
    expect((await viewer('POST', `/api/templates/${id}/preview`, {})).status).toBe(200);
    expectError(await viewer('POST', '/api/templates', emailTemplate), 403, 'FORBIDDEN');
    expectError(await viewer('PATCH', `/api/templates/${id}`, { name: 'No' }), 403, 'FORBIDDEN');
    expectError(await viewer('DELETE', `/api/templates/${id}`), 403, 'FORBIDDEN');
    expect((await admin('GET', '/api/templates')).body).toEqual([expect.objectContaining({ id, name: 'Invitation' })]);
  });

  it('are documented in the OpenAPI document', async () => {
    const document = (await (await herald.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const methodsOf = (path: string) => Object.keys(document.paths[path] ?? {}).sort();
    expect(methodsOf('/api/templates')).toEqual(['get', 'post']);
    expect(methodsOf('/api/templates/{id}')).toEqual(['delete', 'get', 'patch']);
    expect(methodsOf('/api/templates/{id}/preview')).toEqual(['post']);
    expect(methodsOf('/api/templates/preview')).toEqual(['post']);
  });

  it('refuses to delete a template a dispatch uses (409 naming it)', async () => {
    const { account, admin } = await seedTeam();
    const first = await created(admin, emailTemplate);
    const reminder = await created(admin, { ...emailTemplate, name: 'Reminder' });
    const { dispatchId } = await seedDispatch(herald.database, account.id);
    const setTemplates = (templates: typeof dispatches.$inferInsert.templates) =>
      herald.database.db.update(dispatches).set({ templates }).where(eq(dispatches.id, dispatchId));

    await setTemplates({ email: { initial: first.id, reminders: [UNKNOWN_ID, reminder.id] } });
    expectError(await admin('DELETE', `/api/templates/${first.id}`), 409, 'CONFLICT', 'Dispatch', dispatchId);
    expectError(await admin('DELETE', `/api/templates/${reminder.id}`), 409, 'CONFLICT', 'Dispatch', dispatchId);
    expect((await admin('GET', `/api/templates/${first.id}`)).status).toBe(200);

    // Another account's dispatch naming the template does not hold it.
    await setTemplates({ sms: { initial: UNKNOWN_ID } });
    const other = await seedAccount(herald.database);
    const theirs = await seedDispatch(herald.database, other.account.id);
    await herald.database.db
      .update(dispatches)
      .set({ templates: { email: { initial: first.id } } })
      .where(eq(dispatches.id, theirs.dispatchId));
    expect((await admin('DELETE', `/api/templates/${first.id}`)).status).toBe(204);
    expect((await admin('DELETE', `/api/templates/${reminder.id}`)).status).toBe(204);
  });
});
