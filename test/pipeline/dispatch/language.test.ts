import { beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { api, mailsTo, requestRecords, seedSinkDispatch, startDeliveryHarness } from '../../support/delivery.js';
import type { TestHerald } from '../../support/herald.js';
import type { SeededDispatch } from '../../support/platform.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';

const ENGLISH = { subject: 'Your opinion matters', greeting: 'Hello' };
const FRENCH = { subject: 'Votre avis compte', greeting: 'Bonjour' };

describe.each(databaseKinds())('the language of a message on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  let accountId: string;
  let apiKey: string;
  let templateId: string;

  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind));
    const seeded = await seedAccount(herald.database);
    accountId = seeded.account.id;
    apiKey = seeded.apiKey;
    const template = await api<{ id: string }>(
      herald,
      apiKey,
      'POST',
      '/api/templates',
      {
        name: 'Bilingual',
        channel: 'email',
        variants: [ENGLISH, FRENCH].map(({ subject, greeting }, index) => ({
          language: index === 0 ? 'en' : 'fr',
          subject,
          text: `${greeting} {{prefills.Name}} ({{language}}): {{surveyLink}}\n{{unsubscribeLink}}`,
          html: `<p>${greeting} {{prefills.Name}}</p><p><a href="{{surveyLink}}">survey</a></p>`,
        })),
      },
      201,
    );
    templateId = template.body.id;
  });

  /** A dispatch that uses the bilingual template, with `defaultLanguage` when given. */
  async function bilingualDispatch(defaultLanguage?: string): Promise<SeededDispatch> {
    const dispatch = await seedSinkDispatch(herald.database, accountId, sink);
    const answer = await api<{ defaultLanguage: string }>(
      herald,
      apiKey,
      'PATCH',
      `/api/dispatches/${dispatch.dispatchId}`,
      { templates: { email: { initial: templateId } }, ...(defaultLanguage && { defaultLanguage }) },
      200,
    );
    expect(answer.body.defaultLanguage).toBe(defaultLanguage ?? 'en');
    return dispatch;
  }

  /** Sends one record per [name, cc_language] and returns what each recipient received. */
  async function deliver(dispatch: SeededDispatch, tag: string, people: [string, string | undefined][]) {
    const address = (name: string) => `${name.toLowerCase()}@${tag}-${kind}.test`;
    await requestRecords(
      herald,
      accountId,
      apiKey,
      dispatch.dispatchId,
      people.map(([name, language]) => [
        { questionId: dispatch.q.uuid, input: `${tag}-${name}` },
        { questionId: dispatch.q.email, input: address(name) },
        { questionId: dispatch.q.name, input: name },
        ...(language === undefined ? [] : [{ questionId: dispatch.q.language, input: language }]),
      ]),
    );
    return waitFor(
      () => {
        const mails = people.map(([name]) => mailsTo(sink, address(name))[0]);
        return mails.every(Boolean) ? mails.map((m) => m!.mail) : undefined;
      },
      20_000,
      { description: `mail to every recipient of ${tag}` },
    );
  }

  it("renders the recipient's language (cc_language), else the dispatch's default", async () => {
    const dispatch = await bilingualDispatch();
    const [french, upper, german, none] = await deliver(dispatch, 'lang', [
      ['Amelie', 'fr'],
      ['Benoit', 'FR'],
      ['Dieter', 'de'],
      ['Nora', undefined],
    ]);
    expect(french?.subject).toBe(FRENCH.subject);
    expect(french?.text).toMatch(/^Bonjour Amelie \(fr\): http:\/\/127\.0\.0\.1:\d+\/s\//);
    expect(french?.html).toContain('<p>Bonjour Amelie</p>');
    expect(upper?.subject).toBe(FRENCH.subject);
    // German is not a variant: the dispatch's default language (en) is used.
    expect(german?.subject).toBe(ENGLISH.subject);
    expect(german?.text).toMatch(/^Hello Dieter \(de\): /);
    expect(none?.subject).toBe(ENGLISH.subject);
    expect(none?.text).toMatch(/^Hello Nora \(en\): /);
  });

  it("falls back to the dispatch's default language, not to the template's first variant", async () => {
    const dispatch = await bilingualDispatch('fr');
    const [german, none, english] = await deliver(dispatch, 'default-fr', [
      ['Dieter', 'de'],
      ['Nora', undefined],
      ['Edward', 'en'],
    ]);
    expect(german?.subject).toBe(FRENCH.subject);
    expect(none?.subject).toBe(FRENCH.subject);
    expect(none?.text).toMatch(/^Bonjour Nora \(fr\): /);
    expect(english?.subject).toBe(ENGLISH.subject);
  });
});
