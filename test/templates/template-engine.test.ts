import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { TemplateVariant } from '../../src/storage/schema.js';
import {
  cachedTemplateCount,
  CompiledCache,
  checkVariant,
  chooseVariant,
  prefillsByName,
  renderVariant,
  sampleContext,
  type RenderContext,
} from '../../src/templates/template-engine.js';

const context = (prefills: Record<string, string> = {}): RenderContext => ({
  surveyLink: 'https://herald.example/s/q1w2e3r4t5y6u7i8',
  unsubscribeLink: 'https://herald.example/u/q1w2e3r4t5y6u7i8',
  language: 'en',
  dispatchName: 'Spring survey',
  prefills,
});

/** The AppError checkVariant throws for `variant`, or a failure when it throws none. */
function checkError(channel: 'email' | 'sms' | 'whatsapp', variant: TemplateVariant): AppError {
  try {
    checkVariant(channel, variant);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('VALIDATION_FAILED');
    return error as AppError;
  }
  throw new Error('checkVariant accepted the variant');
}

describe('renderVariant', () => {
  it('renders the example of the module comment exactly', () => {
    const rendered = renderVariant(
      {
        language: 'en',
        subject: 'Hello {{prefills.Name}}',
        html: '<p>Dear {{prefills.[Customer name]}}, <a href="{{surveyLink}}">tell us</a> ({{prefills.Email}})</p>',
        text: 'Dear {{prefills.Name}}, tell us: {{surveyLink}}',
      },
      context({ Name: 'Ann <3', 'Customer name': 'Ann <3', Email: 'ann@example.com' }),
    );
    expect(rendered).toEqual({
      subject: 'Hello Ann <3',
      html: '<p>Dear Ann &lt;3, <a href="https://herald.example/s/q1w2e3r4t5y6u7i8">tell us</a> (ann@example.com)</p>',
      text: 'Dear Ann <3, tell us: https://herald.example/s/q1w2e3r4t5y6u7i8',
    });
  });

  it('escapes values in html only, and {{{x}}} opts out', () => {
    const script = '<script>alert(1)</script>';
    const rendered = renderVariant(
      {
        language: 'en',
        subject: 'For {{prefills.Name}}',
        html: '<p>{{prefills.Name}}</p><div>{{{prefills.Name}}}</div>',
        text: 'Hi {{prefills.Name}}',
      },
      context({ Name: script }),
    );
    expect(rendered.html).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><div><script>alert(1)</script></div>');
    expect(rendered.text).toBe(`Hi ${script}`);
    expect(rendered.subject).toBe(`For ${script}`);
  });

  it('gives every context value, renders missing prefills as nothing and keeps subjects on one line', () => {
    const rendered = renderVariant(
      {
        language: 'de',
        subject: '{{dispatchName}}:\n {{prefills.Name}}\r\n',
        text: '{{language}} {{unsubscribeLink}} [{{prefills.Missing}}] {{#if prefills.Name}}yes{{else}}no{{/if}}',
      },
      context({ Name: 'Line\nbreak' }),
    );
    expect(rendered).toEqual({
      subject: 'Spring survey: Line break',
      text: 'en https://herald.example/u/q1w2e3r4t5y6u7i8 [] yes',
    });
    expect(rendered).not.toHaveProperty('html');
  });

  it('finds nothing on the prototype of the context', () => {
    const rendered = renderVariant(
      { language: 'en', text: '[{{constructor}}][{{prefills.constructor}}][{{prefills.__proto__}}]' },
      context({ Name: 'x' }),
    );
    expect(rendered.text).toBe('[][][]');
  });

  it('compiles a source once and reuses it', () => {
    const variant = { language: 'en', text: `Cached ${Math.random()} {{prefills.Name}}` };
    const before = cachedTemplateCount().plain;
    expect(renderVariant(variant, context({ Name: 'A' })).text).toMatch(/ A$/);
    expect(cachedTemplateCount().plain).toBe(before + 1);
    expect(renderVariant({ ...variant }, context({ Name: 'B' })).text).toMatch(/ B$/);
    expect(cachedTemplateCount().plain).toBe(before + 1);
  });

  it('keeps at most 500 compiled templates of each kind', () => {
    for (let i = 0; i < 600; i += 1) renderVariant({ language: 'en', text: `Many ${i} {{surveyLink}}` }, context());
    expect(cachedTemplateCount().plain).toBe(500);
  });
});

describe('CompiledCache', () => {
  it('drops the least recently used source first', () => {
    const cache = new CompiledCache(true, 2, 1000);
    cache.get('a {{x}}');
    cache.get('b {{x}}');
    cache.get('a {{x}}');
    cache.get('c {{x}}');
    expect([cache.has('a {{x}}'), cache.has('b {{x}}'), cache.has('c {{x}}')]).toEqual([true, false, true]);
    expect(cache.size).toBe(2);
  });

  it('keeps the characters of its sources within bounds and does not keep a source over them', () => {
    const cache = new CompiledCache(false, 10, 12);
    cache.get('aaaaaaa');
    cache.get('bbbbbbb');
    expect([cache.has('aaaaaaa'), cache.has('bbbbbbb')]).toEqual([false, true]);
    const big = cache.get('x'.repeat(13));
    expect(big({})).toBe('x'.repeat(13));
    expect(cache.has('x'.repeat(13))).toBe(false);
    expect(cache.has('bbbbbbb')).toBe(true);
  });

  it('escapes or not as it was made to', () => {
    const data = { x: '<b>' };
    expect(new CompiledCache(false, 1, 100).get('{{x}}')(data)).toBe('&lt;b&gt;');
    expect(new CompiledCache(true, 1, 100).get('{{x}}')(data)).toBe('<b>');
  });
});

describe('checkVariant', () => {
  it('names the part, the language, the line and the reason of a parse error', () => {
    const error = checkError('email', {
      language: 'fr',
      subject: 'Bonjour',
      html: '<p>\nBonjour\n{{prefills.Name</p>',
      text: 'Bonjour',
    });
    expect(error.message).toMatch(/^The template has an error in html \(fr\), line 3: Expecting .*got 'INVALID'$/);
    expect(error.details).toEqual([
      { part: 'html', language: 'fr', line: 3, problem: expect.stringContaining('Expecting') as unknown },
    ]);
  });

  it("reports Handlebars' example error as it says it", () => {
    const error = checkError('sms', { language: 'fr', text: 'a\n\nb {{' });
    expect(error.message).toContain("text (fr), line 3: Expecting 'ID'");
    expect(error.message).toContain("got 'EOF'");
  });

  it('reports mismatched blocks, unknown helpers, partials and misused helpers with their line', () => {
    const cases: [string, RegExp][] = [
      ['{{#if x}}\n{{/each}}', /line 1: if doesn't match each$/],
      ['ok\n{{shout prefills.Name}}', /line 2: You specified knownHelpersOnly, but used the unknown helper shout$/],
      ['ok\n{{log "x"}}', /line 2: .*unknown helper log$/],
      ['\n\n{{> footer}}', /line 3: partials .* are not supported$/],
      ['{{#*inline "a"}}x{{/inline}}', /line 1: decorators .* are not supported$/],
      ['\n{{#each}}x{{/each}}', /line 2: \{\{#each\}\} takes exactly one argument$/],
      ['{{if prefills.Name}}', /line 1: if is a block helper/],
      ['{{#if a b}}x{{/if}}', /line 1: \{\{#if\}\} takes exactly one argument$/],
      ['{{lookup prefills}}', /line 1: lookup takes two arguments/],
      ['{{!-- unclosed', /line 1: Unrecognized text\.$/],
    ];
    for (const [text, expected] of cases) {
      expect(checkError('whatsapp', { language: 'en', text }).message, text).toMatch(expected);
    }
  });

  it('accepts the built-in helpers used well', () => {
    expect(() =>
      checkVariant('email', {
        language: 'en',
        subject: '{{#if prefills.Name}}Hi {{prefills.Name}}{{else}}Hello{{/if}}',
        html: '{{#each prefills}}<b>{{@key}}</b>={{this}}{{/each}} {{lookup prefills "Customer name"}}',
        text: '{{#with prefills as |p|}}{{p.Name}}{{/with}} {{#unless dispatchName}}none{{/unless}} {{@root.surveyLink}}',
      }),
    ).not.toThrow();
  });

  it('checks only the parts the channel sends', () => {
    // An SMS variant's html is refused by the template rules, not compiled here.
    expect(() => checkVariant('sms', { language: 'en', html: '{{#if}}', text: 'ok' })).not.toThrow();
    expect(checkError('email', { language: 'en', subject: 'ok', html: '{{#if}}', text: 'ok' }).message).toContain(
      'html (en), line 1',
    );
    expect(checkError('email', { language: 'en', subject: '{{', text: 'ok' }).message).toContain(
      'subject (en), line 1',
    );
  });
});

describe('chooseVariant', () => {
  const variants = [{ language: 'es' }, { language: 'en' }, { language: 'fr' }];

  it("takes the recipient's language, else the fallback, else the first", () => {
    expect(chooseVariant(variants, 'fr', 'en').language).toBe('fr');
    expect(chooseVariant(variants, 'de', 'en').language).toBe('en');
    expect(chooseVariant(variants, 'de', 'it').language).toBe('es');
    expect(chooseVariant(variants, null, undefined).language).toBe('es');
    expect(chooseVariant(variants, undefined, 'fr').language).toBe('fr');
  });

  it('compares the primary subtag, ignoring case', () => {
    expect(chooseVariant(variants, 'FR-ca', 'en').language).toBe('fr');
    expect(chooseVariant(variants, 'de_DE', 'EN').language).toBe('en');
  });

  it('refuses an empty list', () => {
    expect(() => chooseVariant([], 'en', 'en')).toThrow(/at least one variant/);
  });
});

describe('prefillsByName', () => {
  it('names each value by question id, tag and text; a tag wins over a text, an earlier question over a later', () => {
    const byName = prefillsByName(
      [
        { questionId: 'q-name', input: 'Ann' },
        { questionId: 'q-mail', input: 'ann@example.com' },
        { questionId: 'q-other', input: 'Other' },
        { questionId: 'q-orphan', input: 'No question' },
      ],
      [
        { id: 'q-name', text: 'Customer name', tags: ['Name'] },
        { id: 'q-mail', text: 'Email', tags: ['Email'] },
        { id: 'q-other', text: 'Name', tags: ['Email'] },
        { id: 'q-unanswered', text: 'Store', tags: ['Shop'] },
      ],
    );
    expect({ ...byName }).toEqual({
      'q-name': 'Ann',
      'q-mail': 'ann@example.com',
      'q-other': 'Other',
      'q-orphan': 'No question',
      Name: 'Ann',
      Email: 'ann@example.com',
      'Customer name': 'Ann',
    });
    expect(Object.getPrototypeOf(byName)).toBeNull();
    expect(
      renderVariant(
        { language: 'en', text: '{{prefills.Name}}|{{prefills.[Customer name]}}|{{prefills.Email}}' },
        context(byName),
      ).text,
    ).toBe('Ann|Ann|ann@example.com');
  });
});

describe('sampleContext', () => {
  it('fills each prefill the variant refers to and was not given, and the links', () => {
    const sample = sampleContext(
      { language: 'fr', subject: '{{prefills.Name}}', text: '{{prefills.[Customer name]}} {{@root.prefills.City}}' },
      { prefills: { Name: 'Ann' }, surveyLink: 'https://x.example/s/1' },
    );
    expect({ ...sample.prefills }).toEqual({ Name: 'Ann', 'Customer name': '[Customer name]', City: '[City]' });
    expect(sample).toMatchObject({
      surveyLink: 'https://x.example/s/1',
      unsubscribeLink: 'https://survey.example/u/SAMPLE-TOKEN',
      language: 'fr',
      dispatchName: 'Sample dispatch',
    });
  });
});
