import { and, asc, eq, sql } from 'drizzle-orm';
import { invalidField, notFound } from '../../errors.js';
import type { Database, Db } from '../../storage/database.js';
import { assertNoDispatchUses } from '../../storage/dispatch-references.js';
import { isUuid } from '../../storage/ids.js';
import { contentTemplates, dispatches, type Channel, type TemplateVariant } from '../../storage/schema.js';
import {
  checkVariantSyntax,
  chooseVariant,
  type RenderedVariant,
  type SampleInput,
} from '../../templates/template-engine.js';
import { renderOffThread } from '../../templates/render-off-thread.js';

export type ContentTemplate = Omit<typeof contentTemplates.$inferSelect, 'accountId'>;

export interface ContentTemplateInput {
  name: string;
  /** Fixed once created: dispatches refer to a template under its channel. */
  channel: Channel;
  variants: TemplateVariant[];
}

/** What may change: the name, and the variants as a whole. */
export type ContentTemplateChanges = Partial<Pick<ContentTemplateInput, 'name' | 'variants'>>;

/** A preview's choices; whatever is not given is sample data. */
export interface PreviewInput extends SampleInput {
  /** The recipient's language; the variant falls back to English, then to the first. */
  language?: string;
}

export interface Preview extends RenderedVariant {
  /** The language of the variant that was rendered. */
  language: string;
}

/** Limits of a template; byte sizes are of the UTF-8 encoding. */
export const TEMPLATE_LIMITS = {
  variants: 50,
  /** RFC 5322's limit for one header line. */
  subjectChars: 998,
  htmlBytes: 500 * 1024,
  textBytes: 100 * 1024,
  /** Ten concatenated SMS segments at most. */
  smsTextChars: 1600,
} as const;

/** When a preview asks for a language the template lacks (there is no dispatch to take a default from). */
const PREVIEW_FALLBACK_LANGUAGE = 'en';
const LANGUAGE = /^[a-z]{2}$/;

const templateColumns = {
  id: contentTemplates.id,
  name: contentTemplates.name,
  channel: contentTemplates.channel,
  variants: contentTemplates.variants,
  createdAt: contentTemplates.createdAt,
};

const ownTemplate = (accountId: string, id: string) =>
  and(eq(contentTemplates.accountId, accountId), eq(contentTemplates.id, id));

const utf8Bytes = (value: string) => Buffer.byteLength(value, 'utf8');

/**
 * Checks one variant against its channel's rules — which parts it needs and allows, their sizes,
 * its language — and that each part compiles and renders. Returns it with only the known fields.
 * `field` prefixes the names in errors (e.g. "variants.2").
 */
export function validateVariant(channel: Channel, variant: TemplateVariant, field = 'variant'): TemplateVariant {
  if (!LANGUAGE.test(variant.language)) {
    throw invalidField(`${field}.language`, 'must be an ISO 639-1 code, two lower-case letters (e.g. "fr")');
  }
  const fail = (part: keyof TemplateVariant, problem: string) => invalidField(`${field}.${part}`, problem);
  if (channel === 'email') {
    if (variant.subject === undefined) throw fail('subject', 'is required for email');
  } else {
    if (variant.subject !== undefined) throw fail('subject', `is only for email, not ${channel}`);
    if (variant.html !== undefined) throw fail('html', `is only for email, not ${channel}`);
  }
  if (variant.subject !== undefined && variant.subject.length > TEMPLATE_LIMITS.subjectChars) {
    throw fail('subject', `must be at most ${TEMPLATE_LIMITS.subjectChars} characters`);
  }
  if (variant.html !== undefined && utf8Bytes(variant.html) > TEMPLATE_LIMITS.htmlBytes) {
    throw fail('html', `must be at most ${TEMPLATE_LIMITS.htmlBytes / 1024} KB`);
  }
  if (utf8Bytes(variant.text) > TEMPLATE_LIMITS.textBytes) {
    throw fail('text', `must be at most ${TEMPLATE_LIMITS.textBytes / 1024} KB`);
  }
  if (channel === 'sms' && variant.text.length > TEMPLATE_LIMITS.smsTextChars) {
    throw fail('text', `must be at most ${TEMPLATE_LIMITS.smsTextChars} characters for SMS`);
  }
  const checked: TemplateVariant = { language: variant.language, text: variant.text };
  if (variant.subject !== undefined) checked.subject = variant.subject;
  if (variant.html !== undefined) checked.html = variant.html;
  checkVariantSyntax(channel, checked);
  return checked;
}

/** Checks every variant (see validateVariant) and that no two share a language. */
export function validateVariants(channel: Channel, variants: readonly TemplateVariant[]): TemplateVariant[] {
  if (variants.length === 0 || variants.length > TEMPLATE_LIMITS.variants) {
    throw invalidField('variants', `must have 1 to ${TEMPLATE_LIMITS.variants} variants`);
  }
  const seen = new Set<string>();
  return variants.map((variant, index) => {
    if (seen.has(variant.language)) {
      throw invalidField(`variants.${index}.language`, `repeats the language "${variant.language}"`);
    }
    seen.add(variant.language);
    return validateVariant(channel, variant, `variants.${index}`);
  });
}

export async function createContentTemplate(
  db: Db,
  accountId: string,
  input: ContentTemplateInput,
): Promise<ContentTemplate> {
  const variants = validateVariants(input.channel, input.variants);
  await checkRenders(input.channel, variants);
  const [created] = await db
    .insert(contentTemplates)
    .values({ accountId, name: input.name, channel: input.channel, variants })
    .returning(templateColumns);
  if (!created) throw new Error('insert returned no row');
  return created;
}

export function listContentTemplates(db: Db, accountId: string): Promise<ContentTemplate[]> {
  return db
    .select(templateColumns)
    .from(contentTemplates)
    .where(eq(contentTemplates.accountId, accountId))
    .orderBy(asc(contentTemplates.name), asc(contentTemplates.id));
}

export async function getContentTemplate(db: Db, accountId: string, id: string): Promise<ContentTemplate> {
  if (!isUuid(id)) throw notFound('Content template', id);
  const [found] = await db.select(templateColumns).from(contentTemplates).where(ownTemplate(accountId, id));
  if (!found) throw notFound('Content template', id);
  return found;
}

/** Renames a template and/or replaces its variants (checked against its channel as on create). */
export async function updateContentTemplate(
  db: Db,
  accountId: string,
  id: string,
  changes: ContentTemplateChanges,
): Promise<ContentTemplate> {
  const current = await getContentTemplate(db, accountId, id);
  const variants = changes.variants && validateVariants(current.channel, changes.variants);
  if (variants) await checkRenders(current.channel, variants);
  if (changes.name === undefined && variants === undefined) return current;
  const [updated] = await db
    .update(contentTemplates)
    .set({ name: changes.name, variants })
    .where(ownTemplate(accountId, current.id))
    .returning(templateColumns);
  if (!updated) throw notFound('Content template', id);
  return updated;
}

/**
 * Whether a dispatch's `templates` ({"email": {"initial": id, "reminders": [id, …]}, …}) names the
 * template `id` (lower-case, as the database writes uuids), for any channel, first message or reminder.
 */
const dispatchUsesTemplate = (id: string) => sql`exists (
  select 1
  from jsonb_each(case when jsonb_typeof(${dispatches.templates}) = 'object' then ${dispatches.templates} else '{}'::jsonb end)
    as used(channel, ref)
  where lower(used.ref ->> 'initial') = ${id}
    or exists (
      select 1
      from jsonb_array_elements_text(
        case when jsonb_typeof(used.ref -> 'reminders') = 'array' then used.ref -> 'reminders' else '[]'::jsonb end
      ) as reminder(id)
      where lower(reminder.id) = ${id}
    )
)`;

/** Deletes a template unless a dispatch uses it (409 naming the dispatch). */
export async function deleteContentTemplate(database: Database, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('Content template', id);
  await database.transaction(async ({ db }) => {
    const [locked] = await db
      .select({ id: contentTemplates.id })
      .from(contentTemplates)
      .where(ownTemplate(accountId, id))
      .for('update');
    if (!locked) throw notFound('Content template', id);
    await assertNoDispatchUses(db, accountId, `The content template ${locked.id}`, dispatchUsesTemplate(locked.id));
    await db.delete(contentTemplates).where(eq(contentTemplates.id, locked.id));
  });
}

/** That each variant renders with sample data, in the render thread (bounded in time). */
async function checkRenders(channel: Channel, variants: readonly TemplateVariant[]): Promise<void> {
  for (const variant of variants) await renderOffThread(channel, variant, {});
}

/** Renders one variant with the given values and sample data for the rest, in the render thread. */
async function previewVariant(
  channel: Channel,
  variant: TemplateVariant,
  input: Omit<PreviewInput, 'language'>,
): Promise<Preview> {
  return { ...(await renderOffThread(channel, variant, input)), language: variant.language };
}

/** Renders a saved template in the variant a recipient of `input.language` would get (else the first). */
export async function previewContentTemplate(
  db: Db,
  accountId: string,
  id: string,
  input: PreviewInput,
): Promise<Preview> {
  const template = await getContentTemplate(db, accountId, id);
  const variant =
    input.language === undefined
      ? chooseVariant(template.variants, undefined, undefined)
      : chooseVariant(template.variants, input.language, PREVIEW_FALLBACK_LANGUAGE);
  return previewVariant(template.channel, variant, input);
}

/** Checks an unsaved variant for `channel` (as a save would) and renders it. */
export async function previewUnsavedVariant(
  channel: Channel,
  variant: TemplateVariant,
  input: PreviewInput,
): Promise<Preview> {
  return previewVariant(channel, validateVariant(channel, variant), input);
}
