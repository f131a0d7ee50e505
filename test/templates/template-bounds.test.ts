import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { RENDER_LIMITS } from '../../src/templates/render-budget.js';
import { checkVariant, renderVariant, type RenderContext } from '../../src/templates/template-engine.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { expectError } from '../support/management.js';
import { apiClient, type ApiClient } from '../support/api-client.js';

/** Seven {{#each}} over every prefill, inside one another: 100 prefills make 10¹⁴ iterations. */
const eachBomb = (depth: number) => `${'{{#each @root.prefills}}'.repeat(depth)}x${'{{/each}}'.repeat(depth)}`;

const manyPrefills = (count: number, value = 'v') =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}`, value]));

const context = (prefills: Record<string, string>): RenderContext => ({
  surveyLink: 'https://survey.example/s/T',
  unsubscribeLink: 'https://survey.example/u/T',
  language: 'en',
  dispatchName: 'Spring',
  prefills,
});

function appError(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('no error was thrown');
}

describe('template rendering is bounded', () => {
  it('refuses {{#each}} nested deeper than the limit, with its line', () => {
    const source = eachBomb(7);
    expect(source.length).toBeLessThan(800);
    const error = appError(() => checkVariant('sms', { language: 'en', text: source }));
    expect(error.message).toContain(`{{#each}} blocks nest at most ${RENDER_LIMITS.eachDepth} deep`);
    expect(error.message).toContain('text (en), line 1');
    expect(() => checkVariant('sms', { language: 'en', text: eachBomb(RENDER_LIMITS.eachDepth) })).not.toThrow();
  });

  it('refuses blocks of any kind nested deeper than the limit', () => {
    const deep = `${'{{#if surveyLink}}'.repeat(RENDER_LIMITS.blockDepth + 1)}x${'{{/if}}'.repeat(RENDER_LIMITS.blockDepth + 1)}`;
    expect(appError(() => checkVariant('sms', { language: 'en', text: deep })).message).toContain(
      `blocks nest at most ${RENDER_LIMITS.blockDepth} deep`,
    );
  });

  it('stops a render after the iteration limit, whatever the data', () => {
    // Allowed nesting, but 30³ = 27,000 iterations with this record's prefills.
    const error = appError(() => renderVariant({ language: 'en', text: eachBomb(3) }, context(manyPrefills(30))));
    expect(error.message).toContain(`more than ${RENDER_LIMITS.iterations} times`);
    expect(renderVariant({ language: 'en', text: eachBomb(2) }, context(manyPrefills(30))).text).toBe('x'.repeat(900));
  });

  it('stops a render whose output passes the size limit', () => {
    const big = 'y'.repeat(100_000);
    const error = appError(() =>
      renderVariant({ language: 'en', text: '{{#each prefills}}{{this}}{{/each}}' }, context(manyPrefills(20, big))),
    );
    expect(error.message).toContain(`more than ${RENDER_LIMITS.outputChars} characters`);
  });
});

describe.each(databaseKinds())('template previews on %s', (kind) => {
  let herald: TestHerald;
  let viewer: ApiClient;
  let admin: ApiClient;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
    const { account, apiKey } = await seedAccount(herald.database, 'admin');
    admin = apiClient(herald, apiKey);
    const { createApiKey } = await import('../../src/accounts/api-keys.js');
    viewer = apiClient(
      herald,
      (await createApiKey(herald.database.db, { accountId: account.id, name: 'v', role: 'viewer' })).key,
    );
  });
  afterAll(() => herald?.stop());

  it('refuses the nested {{#each}} template on preview and on save', async () => {
    const variant = { language: 'en', text: eachBomb(7) };
    expectError(
      await viewer.post('/api/templates/preview', { channel: 'sms', variant, prefills: manyPrefills(100) }),
      400,
      'VALIDATION_FAILED',
      'nest at most',
    );
    expectError(
      await admin.post('/api/templates', { name: 'bomb', channel: 'sms', variants: [variant] }),
      400,
      'VALIDATION_FAILED',
      'nest at most',
    );
    expect((await admin.get('/api/templates')).body).toEqual([]);
  });

  it('renders previews off the main thread and gives up after the timeout, while the API answers', async () => {
    // Within every static limit, yet each of 20³ iterations evaluates 100,000 empty expressions.
    const slow = `{{#each prefills}}{{#each @root.prefills}}{{#each @root.prefills}}${'{{z}}'.repeat(100_000)}{{/each}}{{/each}}{{/each}}`;
    let settled = false;
    const preview = viewer
      .post('/api/templates/preview', {
        channel: 'email',
        variant: { language: 'en', subject: 'Hi', text: 'hi', html: slow },
        prefills: manyPrefills(20),
      })
      .finally(() => (settled = true));
    const health = await herald.request('/healthz');
    expect(health.status).toBe(200);
    expect(settled).toBe(false);
    expectError(await preview, 400, 'VALIDATION_FAILED', 'took longer than');
    // The next preview gets a new render thread.
    const next = await viewer.post('/api/templates/preview', {
      channel: 'sms',
      variant: { language: 'en', text: 'Hi {{prefills.Name}}' },
    });
    expect(next.status, next.text).toBe(200);
    expect(next.body).toMatchObject({ text: 'Hi [Name]' });
  });
});
