import { Type } from '@sinclair/typebox';
import {
  createContentTemplate,
  deleteContentTemplate,
  getContentTemplate,
  listContentTemplates,
  previewContentTemplate,
  previewUnsavedVariant,
  TEMPLATE_LIMITS,
  updateContentTemplate,
} from '../../platforms/standalone/content-templates.js';
import { SAMPLE } from '../../templates/template-engine.js';
import { channels } from '../../storage/schema.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { IdParams, Name, StringEnum } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const Language = Type.String({ pattern: '^[a-z]{2}$', description: 'ISO 639-1, two lower-case letters' });
// Sizes in bytes are checked by the domain code (UTF-8); these bounds only keep absurd bodies out early.
const Variant = Type.Object(
  {
    language: Language,
    subject: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: TEMPLATE_LIMITS.subjectChars,
        description: 'Email only, required there; plain text, not HTML-escaped',
      }),
    ),
    html: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: TEMPLATE_LIMITS.htmlBytes,
        description: 'Email only, optional; {{x}} is HTML-escaped, {{{x}}} is not',
      }),
    ),
    text: Type.String({
      minLength: 1,
      maxLength: TEMPLATE_LIMITS.textBytes,
      description: 'Plain text (SMS: at most 1600 characters); not HTML-escaped',
    }),
  },
  {
    additionalProperties: false,
    description:
      'One language of a template, in Handlebars: {{surveyLink}}, {{unsubscribeLink}}, {{language}}, ' +
      '{{dispatchName}}, {{prefills.X}} where X is a question id, text or tag ({{prefills.[Customer name]}})',
  },
);
const Variants = Type.Array(Variant, {
  minItems: 1,
  maxItems: TEMPLATE_LIMITS.variants,
  description: 'One per language, each language once',
});
const TemplateSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  channel: StringEnum(channels),
  variants: Type.Array(
    Type.Object({
      language: Type.String(),
      subject: Type.Optional(Type.String()),
      html: Type.Optional(Type.String()),
      text: Type.String(),
    }),
  ),
  createdAt: Timestamp,
});
const PreviewFields = {
  prefills: Type.Optional(
    Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 4000 }), {
      maxProperties: 200,
      description: 'Values by the names the template uses (e.g. {"Name": "Ann"}); others referred to read "[name]"',
    }),
  ),
  surveyLink: Type.Optional(Type.String({ maxLength: 2000, description: `Default ${SAMPLE.surveyLink}` })),
  unsubscribeLink: Type.Optional(Type.String({ maxLength: 2000, description: `Default ${SAMPLE.unsubscribeLink}` })),
  dispatchName: Type.Optional(Type.String({ maxLength: 200, description: `Default "${SAMPLE.dispatchName}"` })),
};
const PreviewSchema = Type.Object({
  subject: Type.Optional(Type.String()),
  html: Type.Optional(Type.String()),
  text: Type.String(),
  language: Type.String({ description: 'The language of the variant rendered' }),
});
const Deleted = { 204: Type.Null({ description: 'Deleted' }) };

/** Content templates: per channel, one Handlebars variant per language. */
export function templateRoutes(app: HttpApp, ctx: HttpContext): void {
  const db = ctx.database.db;
  const tags = ['content templates'];

  app.post(
    '/api/templates',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create a content template (400 with the line when a variant does not compile)',
        body: Type.Object(
          { name: Name, channel: StringEnum(channels), variants: Variants },
          { additionalProperties: false },
        ),
        response: { 201: TemplateSchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createContentTemplate(db, principalOf(request).accountId, request.body)),
  );

  app.get(
    '/api/templates',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List content templates', response: { 200: Type.Array(TemplateSchema) } },
    },
    async (request) => listContentTemplates(db, principalOf(request).accountId),
  );

  app.get(
    '/api/templates/:id',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'Read a content template', params: IdParams, response: { 200: TemplateSchema } },
    },
    async (request) => getContentTemplate(db, principalOf(request).accountId, request.params.id),
  );

  app.patch(
    '/api/templates/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Rename a content template or replace its variants (its channel is fixed)',
        params: IdParams,
        body: Type.Object(
          { name: Type.Optional(Name), variants: Type.Optional(Variants) },
          { additionalProperties: false },
        ),
        response: { 200: TemplateSchema },
      },
    },
    async (request) => updateContentTemplate(db, principalOf(request).accountId, request.params.id, request.body),
  );

  app.delete(
    '/api/templates/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a content template (409 while a dispatch uses it)',
        params: IdParams,
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteContentTemplate(ctx.database, principalOf(request).accountId, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/templates/:id/preview',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary:
          'Render a template for a recipient of a language (else English, else the first variant), with sample data for what is not given',
        params: IdParams,
        body: Type.Object({ language: Type.Optional(Language), ...PreviewFields }, { additionalProperties: false }),
        response: { 200: PreviewSchema },
      },
    },
    async (request) => previewContentTemplate(db, principalOf(request).accountId, request.params.id, request.body),
  );

  app.post(
    '/api/templates/preview',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Check and render an unsaved variant (400 with the line when it does not compile)',
        body: Type.Object(
          { channel: StringEnum(channels), variant: Variant, ...PreviewFields },
          { additionalProperties: false },
        ),
        response: { 200: PreviewSchema },
      },
    },
    async (request) => previewUnsavedVariant(request.body.channel, request.body.variant, request.body),
  );
}
