/**
 * Content templates, rendered with Handlebars (https://handlebarsjs.com/guide/).
 *
 * A variant has up to three parts. `subject` and `text` are plain text and are rendered without
 * escaping; `html` is HTML, where `{{x}}` is HTML-escaped and `{{{x}}}` inserts a value as it is
 * (the explicit opt-out, for values you trust). The built-in helpers `if`, `unless`, `each`, `with`
 * and `lookup` are available; partials, decorators and other helpers are not.
 *
 * Every part sees the same context:
 *
 * - `surveyLink`: the recipient's personal survey link;
 * - `unsubscribeLink`: the recipient's unsubscribe link;
 * - `language`: the language of the message (ISO 639-1);
 * - `dispatchName`: the name of the dispatch;
 * - `prefills`: the record's prefill values, each under its question id, its question text and each
 *   of its question's tags (case-sensitive). A name with spaces or dots goes in brackets:
 *   `{{prefills.[Customer name]}}`. A missing prefill renders as nothing.
 *
 * @example
 * // A question "Customer name" tagged `Name`, a question "Email" tagged `Email`:
 * renderVariant(
 *   {
 *     language: 'en',
 *     subject: 'Hello {{prefills.Name}}',
 *     html: '<p>Dear {{prefills.[Customer name]}}, <a href="{{surveyLink}}">tell us</a> ({{prefills.Email}})</p>',
 *     text: 'Dear {{prefills.Name}}, tell us: {{surveyLink}}',
 *   },
 *   {
 *     surveyLink: 'https://herald.example/s/q1w2e3r4t5y6u7i8',
 *     unsubscribeLink: 'https://herald.example/u/q1w2e3r4t5y6u7i8',
 *     language: 'en',
 *     dispatchName: 'Spring survey',
 *     prefills: { Name: 'Ann <3', 'Customer name': 'Ann <3', Email: 'ann@example.com' },
 *   },
 * );
 * // {
 * //   subject: 'Hello Ann <3',
 * //   html: '<p>Dear Ann &lt;3, <a href="https://herald.example/s/q1w2e3r4t5y6u7i8">tell us</a> (ann@example.com)</p>',
 * //   text: 'Dear Ann <3, tell us: https://herald.example/s/q1w2e3r4t5y6u7i8',
 * // }
 */
import Handlebars from 'handlebars';
import { AppError } from '../errors.js';
import type { Channel, TemplateVariant } from '../storage/schema.js';
import { budgetedEach, RENDER_LIMITS, withinBudget } from './render-budget.js';

/** What every part of a variant sees; see the module comment. */
export interface RenderContext {
  surveyLink: string;
  unsubscribeLink: string;
  language: string;
  dispatchName: string;
  /** By question id, question text and tag; see prefillsByName. */
  prefills: Readonly<Record<string, string>>;
}

export interface RenderedVariant {
  subject?: string;
  html?: string;
  text: string;
}

export type TemplatePart = 'subject' | 'html' | 'text';

/** What a question contributes to the names of its prefill. */
export interface PrefillQuestion {
  id: string;
  text: string;
  tags: readonly string[];
}

/** The values a check or a preview renders with when the caller gives none. */
export const SAMPLE = {
  surveyLink: 'https://survey.example/s/SAMPLE-TOKEN',
  unsubscribeLink: 'https://survey.example/u/SAMPLE-TOKEN',
  dispatchName: 'Sample dispatch',
} as const;

/** Which parts of a variant each channel sends. */
const partsOf: Record<Channel, readonly TemplatePart[]> = {
  email: ['subject', 'html', 'text'],
  sms: ['text'],
  whatsapp: ['text'],
};

// An environment of Herald's own: nothing registered on the global Handlebars reaches templates.
const handlebars = Handlebars.create();
// `log` writes to the console, outside Herald's JSON logs; templates have no use for it.
handlebars.unregisterHelper('log');
// Every {{#each}} iteration counts against the render's budget (render-budget.ts).
handlebars.registerHelper('each', budgetedEach(handlebars.helpers.each!));

const compileOptions = {
  // An unknown helper (`{{shout name}}`) fails when compiled, with its line, not at render time.
  knownHelpersOnly: true,
  knownHelpers: { log: false },
  preventIndent: true,
} satisfies Parameters<typeof Handlebars.compile>[1];

type Compiled = Handlebars.TemplateDelegate<object>;

/**
 * Compiled templates by source, least recently used first. The dispatcher renders thousands of
 * messages a second from a few templates; compiling costs far more than rendering. Bounded by
 * entries and by the characters of the sources it keeps. Exported for its tests.
 */
export class CompiledCache {
  private readonly entries = new Map<string, Compiled>();
  private chars = 0;

  constructor(
    private readonly noEscape: boolean,
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(source: string): Compiled {
    const hit = this.entries.get(source);
    if (hit) {
      // Map keeps insertion order: moving a hit to the end makes the first entry the least recently used.
      this.entries.delete(source);
      this.entries.set(source, hit);
      return hit;
    }
    // Handlebars compiles on the first call; errors surface there.
    const compiled: Compiled = handlebars.compile(source, { ...compileOptions, noEscape: this.noEscape });
    if (source.length > this.maxChars) return compiled;
    this.entries.set(source, compiled);
    this.chars += source.length;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= oldest.length;
    }
    return compiled;
  }

  has(source: string): boolean {
    return this.entries.has(source);
  }

  get size(): number {
    return this.entries.size;
  }
}

const MAX_CACHED_TEMPLATES = 500;
const MAX_CACHED_CHARS = 32 * 1024 * 1024;
const htmlTemplates = new CompiledCache(false, MAX_CACHED_TEMPLATES, MAX_CACHED_CHARS);
const plainTemplates = new CompiledCache(true, MAX_CACHED_TEMPLATES, MAX_CACHED_CHARS);

/** How many compiled templates are cached, HTML-escaping and not (for tests and metrics). */
export function cachedTemplateCount(): { html: number; plain: number } {
  return { html: htmlTemplates.size, plain: plainTemplates.size };
}

interface Problem {
  line?: number;
  problem: string;
}

/** Turns what Handlebars threw into a line (when it says) and its reason. */
function problemOf(error: unknown): Problem {
  const message = error instanceof Error ? error.message : String(error);
  // "Parse error on line 3:\n…excerpt…\n----^\nExpecting 'ID', got 'EOF'"
  const parse = /^Parse error on line (\d+):\n[\s\S]*\n(.+)$/.exec(message);
  if (parse) return { line: Number(parse[1]), problem: parse[2]! };
  // "Lexical error on line 1. Unrecognized text.\n…excerpt…"
  const lexical = /^Lexical error on line (\d+)\. ([^\n]+)/.exec(message);
  if (lexical) return { line: Number(lexical[1]), problem: lexical[2]! };
  // Handlebars' own exceptions end with " - line:column" when they know where.
  const located = /^([\s\S]+) - (\d+):\d+$/.exec(message);
  if (located) return { line: Number(located[2]), problem: located[1]! };
  return { problem: message };
}

function templateError(part: TemplatePart, language: string, { line, problem }: Problem): AppError {
  const where = `${part} (${language})${line === undefined ? '' : `, line ${line}`}`;
  return new AppError('VALIDATION_FAILED', `The template has an error in ${where}: ${problem}`, [
    { part, language, ...(line !== undefined && { line }), problem },
  ]);
}

function render(part: TemplatePart, source: string, data: object, language: string): string {
  try {
    const compiled = (part === 'html' ? htmlTemplates : plainTemplates).get(source);
    return withinBudget(() => compiled(data));
  } catch (error) {
    throw templateError(part, language, problemOf(error));
  }
}

/**
 * The object templates see. Without a prototype, `{{constructor}}` and the like find nothing
 * (instead of Handlebars logging a denied prototype access to the console).
 */
function templateData(context: RenderContext): object {
  const prefills =
    Object.getPrototypeOf(context.prefills) === null
      ? context.prefills
      : Object.assign(Object.create(null) as Record<string, string>, context.prefills);
  return Object.assign(Object.create(null) as object, {
    surveyLink: context.surveyLink,
    unsubscribeLink: context.unsubscribeLink,
    language: context.language,
    dispatchName: context.dispatchName,
    prefills,
  });
}

/** A subject is one header line: line breaks (from the template or a value) become spaces. */
const oneLine = (subject: string) => subject.replace(/\s*[\r\n]+\s*/g, ' ').trim();

/**
 * Renders every part the variant has. Throws an AppError VALIDATION_FAILED naming the part, the
 * language and (when Handlebars says) the line; a saved template passed checkVariant, so that
 * means a bug, not bad content.
 */
export function renderVariant(variant: TemplateVariant, context: RenderContext): RenderedVariant {
  const data = templateData(context);
  const rendered: RenderedVariant = { text: render('text', variant.text, data, variant.language) };
  if (variant.subject !== undefined) {
    rendered.subject = oneLine(render('subject', variant.subject, data, variant.language));
  }
  if (variant.html !== undefined) rendered.html = render('html', variant.html, data, variant.language);
  return rendered;
}

type Node = hbs.AST.Node;
type Call = hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression;

/** Every node of a Handlebars syntax tree, depth first. */
function* nodesOf(value: unknown): Generator<Node> {
  if (Array.isArray(value)) {
    for (const item of value) yield* nodesOf(item);
  } else if (typeof value === 'object' && value !== null) {
    if (typeof (value as Partial<Node>).type === 'string') yield value as Node;
    for (const [key, child] of Object.entries(value)) if (key !== 'loc') yield* nodesOf(child);
  }
}

/** The helper a call names, when it names one by a bare word (`if`, not `this.if` or `@if`). */
function calledName(call: Call): string | undefined {
  const path = call.path as Partial<hbs.AST.PathExpression>;
  if (path.type !== 'PathExpression' || path.data || path.depth !== 0 || path.parts?.length !== 1) return undefined;
  return path.original === path.parts[0] ? path.parts[0] : undefined;
}

const blockHelpers = new Set(['if', 'unless', 'each', 'with']);

/**
 * What Handlebars would only find at render time, without a line: partials, decorators, built-in
 * block helpers used wrongly.
 */
function misuseIn(program: hbs.AST.Program): Problem | undefined {
  const nesting = nestingIn(program, 0, 0);
  if (nesting) return nesting;
  for (const node of nodesOf(program)) {
    const line = node.loc?.start.line;
    switch (node.type) {
      case 'PartialStatement':
      case 'PartialBlockStatement':
        return { line, problem: 'partials ({{> name}}) are not supported' };
      case 'Decorator':
      case 'DecoratorBlock':
        return { line, problem: 'decorators ({{* name}}) are not supported' };
      case 'MustacheStatement':
      case 'BlockStatement':
      case 'SubExpression': {
        const call = node as Call;
        const name = calledName(call);
        if (name !== undefined && blockHelpers.has(name)) {
          if (node.type !== 'BlockStatement') {
            return { line, problem: `${name} is a block helper: write {{#${name} …}}…{{/${name}}}` };
          }
          if (call.params.length !== 1) return { line, problem: `{{#${name}}} takes exactly one argument` };
        }
        if (name === 'lookup' && call.params.length !== 2) {
          return { line, problem: 'lookup takes two arguments, e.g. {{lookup prefills "Customer name"}}' };
        }
      }
    }
  }
  return undefined;
}

/** A block nested deeper than RENDER_LIMITS allows (`{{#each}}` in particular), with its line. */
function nestingIn(program: hbs.AST.Program | undefined, blocks: number, eaches: number): Problem | undefined {
  if (!program) return undefined;
  // Blocks are statements of a program's body: only those are walked, each once.
  for (const node of program.body) {
    if (node.type !== 'BlockStatement') continue;
    const block = node as hbs.AST.BlockStatement;
    const line = block.loc?.start.line;
    const depth = blocks + 1;
    const eachDepth = eaches + (calledName(block) === 'each' ? 1 : 0);
    if (eachDepth > RENDER_LIMITS.eachDepth)
      return { line, problem: `{{#each}} blocks nest at most ${RENDER_LIMITS.eachDepth} deep` };
    if (depth > RENDER_LIMITS.blockDepth)
      return { line, problem: `blocks nest at most ${RENDER_LIMITS.blockDepth} deep` };
    const inner = nestingIn(block.program, depth, eachDepth) ?? nestingIn(block.inverse, depth, eachDepth);
    if (inner) return inner;
  }
  return undefined;
}

/** The prefill names a template refers to as `prefills.X` or `@root.prefills.X`. */
function prefillNamesIn(program: hbs.AST.Program, names: Set<string>): void {
  for (const node of nodesOf(program)) {
    if (node.type !== 'PathExpression') continue;
    const { data, parts } = node as hbs.AST.PathExpression;
    const path = data && parts[0] === 'root' ? parts.slice(1) : data ? [] : parts;
    if (path[0] === 'prefills' && path[1] !== undefined) names.add(path[1]);
  }
}

/** The parts of `variant` that `channel` sends and the variant has, with their sources. */
function partsToCheck(channel: Channel, variant: TemplateVariant): [TemplatePart, string][] {
  return partsOf[channel].flatMap((part) => {
    const source = variant[part];
    return source === undefined ? [] : [[part, source] as [TemplatePart, string]];
  });
}

function parse(part: TemplatePart, source: string, language: string): hbs.AST.Program {
  try {
    return handlebars.parse(source);
  } catch (error) {
    throw templateError(part, language, problemOf(error));
  }
}

/** The prefill names the variant's parts refer to (unparseable parts refer to none). */
function prefillNamesOf(variant: TemplateVariant): Set<string> {
  const names = new Set<string>();
  for (const source of [variant.subject, variant.html, variant.text]) {
    if (source === undefined) continue;
    try {
      prefillNamesIn(handlebars.parse(source), names);
    } catch {
      // checkVariant reports it.
    }
  }
  return names;
}

/** What a preview or a check may set; the rest is sample data. */
export interface SampleInput {
  prefills?: Readonly<Record<string, string>>;
  surveyLink?: string;
  unsubscribeLink?: string;
  dispatchName?: string;
}

/**
 * A context to render `variant` with: the given values, and sample ones for the rest — each prefill
 * the variant refers to and was not given reads `[name]`.
 *
 * @example sampleContext({ language: 'fr', text: 'Bonjour {{prefills.Name}} {{surveyLink}}' }, {}).prefills // { Name: '[Name]' }
 */
export function sampleContext(variant: TemplateVariant, given: SampleInput = {}): RenderContext {
  const prefills = Object.create(null) as Record<string, string>;
  for (const name of prefillNamesOf(variant)) prefills[name] = `[${name}]`;
  Object.assign(prefills, given.prefills);
  return {
    surveyLink: given.surveyLink ?? SAMPLE.surveyLink,
    unsubscribeLink: given.unsubscribeLink ?? SAMPLE.unsubscribeLink,
    language: variant.language,
    dispatchName: given.dispatchName ?? SAMPLE.dispatchName,
    prefills,
  };
}

/**
 * Compiles and renders (with sample data) each part of `variant` that `channel` sends. Throws an
 * AppError VALIDATION_FAILED naming the part, the language, the line and Handlebars' reason.
 *
 * @example checkVariant('email', { language: 'fr', subject: 'Bonjour', text: 'x', html: '<p>\n\n{{#if x}' })
 * // throws "The template has an error in html (fr), line 3: Expecting 'ID', got 'EOF'"… (the reason is Handlebars')
 */
export function checkVariant(channel: Channel, variant: TemplateVariant): void {
  checkVariantSyntax(channel, variant);
  const data = templateData(sampleContext(variant));
  for (const [part, source] of partsToCheck(channel, variant)) render(part, source, data, variant.language);
}

/**
 * checkVariant without the render: what can be checked in time bounded by the template's size (it
 * parses, uses only what Herald supports, nests within RENDER_LIMITS). The render check runs in
 * the render thread (render-off-thread.ts).
 */
export function checkVariantSyntax(channel: Channel, variant: TemplateVariant): void {
  for (const [part, source] of partsToCheck(channel, variant)) {
    const misuse = misuseIn(parse(part, source, variant.language));
    if (misuse) throw templateError(part, variant.language, misuse);
  }
}

/** "fr", "FR", "fr-CA" and "fr_CA" all mean French. */
const primaryLanguage = (language: string | null | undefined) =>
  language?.trim().toLowerCase().split(/[-_]/)[0] || undefined;

/**
 * The variant for the recipient's language, else the one in the fallback language (the dispatch's
 * default), else the first. Languages compare by their primary subtag, case-insensitively.
 *
 * @example chooseVariant([{ language: 'en', … }, { language: 'fr', … }], 'fr-CA', 'en').language // 'fr'
 */
export function chooseVariant<V extends { language: string }>(
  variants: readonly V[],
  language: string | null | undefined,
  fallbackLanguage: string | null | undefined,
): V {
  const first = variants[0];
  if (!first) throw new Error('a content template has at least one variant');
  const find = (wanted: string | undefined) =>
    wanted === undefined ? undefined : variants.find((variant) => variant.language === wanted);
  return find(primaryLanguage(language)) ?? find(primaryLanguage(fallbackLanguage)) ?? first;
}

/**
 * The `prefills` of a render context: each value under its question's id, its tags and its text.
 * When two questions share a name, a tag wins over a text, and the earlier question over a later one.
 *
 * @example
 * prefillsByName([{ questionId: 'q1', input: 'Ann' }], [{ id: 'q1', text: 'Customer name', tags: ['Name'] }])
 * // { q1: 'Ann', Name: 'Ann', 'Customer name': 'Ann' }
 */
export function prefillsByName(
  prefills: readonly { questionId: string; input: string }[],
  questions: readonly PrefillQuestion[],
): Record<string, string> {
  const byName = Object.create(null) as Record<string, string>;
  const valueOf = new Map(prefills.map((prefill) => [prefill.questionId.toLowerCase(), prefill.input]));
  const answered = questions.flatMap((question) => {
    const value = valueOf.get(question.id.toLowerCase());
    return value === undefined ? [] : [{ question, value }];
  });
  const add = (name: string, value: string) => {
    if (!(name in byName)) byName[name] = value;
  };
  for (const { question, value } of answered) add(question.id, value);
  for (const prefill of prefills) add(prefill.questionId, prefill.input);
  for (const { question, value } of answered) for (const tag of question.tags) add(tag, value);
  for (const { question, value } of answered) add(question.text, value);
  return byName;
}
