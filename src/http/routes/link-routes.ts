import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { openSurveyLink, peekSurveyLink, type SurveyLinkTarget } from '../../pipeline/feedback/survey-open.js';
import { unsubscribeByLink, unsubscribeLinkExists } from '../../pipeline/feedback/link-unsubscribe.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { toAppError } from '../error-handler.js';
import { httpStatusOf } from '../error-status.js';
import {
  confirmUnsubscribePage,
  invalidLinkPage,
  problemPage,
  surveyUnavailablePage,
  unsubscribedPage,
} from '../link-pages.js';

/** An unsubscribe POST carries at most `List-Unsubscribe=One-Click`; its body is read only to be ignored. */
const UNSUBSCRIBE_BODY_LIMIT = 16 * 1024;

const TokenParams = Type.Object({
  token: Type.String({ description: "The invitation's survey token (URL-safe base64, 16–64 characters)" }),
});

/** Pages are strings sent as they are: these schemas only document the answers. */
const HtmlPage = (description: string) => Type.String({ description });
const Redirect = Type.Null({ description: 'To the survey, with the token as the `token` query parameter' });

function answerSurveyLink(reply: FastifyReply, target: SurveyLinkTarget): FastifyReply {
  if (target.kind === 'unknown') return invalidLinkPage(reply);
  if (target.kind === 'unavailable') return surveyUnavailablePage(reply);
  // no-store: every visit must reach Herald to be counted.
  return reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .redirect(target.location, 302);
}

/**
 * The links in messages, public: `/s/{token}` (the survey link) and `/u/{token}` (unsubscribe).
 * Each sits in its own scope so that anything going wrong under it, an unknown path included,
 * answers an HTML page rather than the API's JSON.
 */
export function linkRoutes(app: HttpApp, ctx: HttpContext): void {
  const tags = ['links'];
  const pagesOnly = (plain: FastifyInstance): HttpApp => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.setNotFoundHandler((_request, reply) => invalidLinkPage(reply));
    scope.setErrorHandler((error, request, reply) => {
      const appError = toAppError(error, ctx.config.bodyLimitBytes);
      if (appError.code === 'INTERNAL') request.log.error({ err: error }, 'unhandled error');
      return appError.code === 'NOT_FOUND'
        ? invalidLinkPage(reply)
        : problemPage(reply, httpStatusOf[appError.code], request.id);
    });
    // The router refuses a segment longer than 100 characters with its own JSON 414 before any
    // handler or not-found handler runs, unless a wildcard route can take the path instead.
    scope.route({
      method: ['GET', 'HEAD', 'POST'],
      url: '/*',
      config: { access: 'public' },
      schema: { hide: true },
      handler: async (_request, reply) => invalidLinkPage(reply),
    });
    return scope;
  };

  void app.register(
    async (plain) => {
      const scope = pagesOnly(plain);
      scope.get(
        '/:token',
        {
          config: { access: 'public' },
          // HEAD is answered below without counting an open.
          exposeHeadRoute: false,
          schema: {
            tags,
            summary: 'Survey link: records the open and redirects (302) to the survey with ?token=…',
            description: 'An unknown token or a questionnaire without a survey URL answers a 404 HTML page.',
            params: TokenParams,
            security: [],
            produces: ['text/html'],
            response: { 302: Redirect, 404: HtmlPage('Unknown token, or no survey URL configured') },
          },
        },
        async (request, reply) => answerSurveyLink(reply, await openSurveyLink(ctx.database, request.params.token)),
      );
      scope.head(
        '/:token',
        { config: { access: 'public' }, schema: { hide: true, params: TokenParams } },
        async (request, reply) => answerSurveyLink(reply, await peekSurveyLink(ctx.database, request.params.token)),
      );
    },
    { prefix: '/s' },
  );

  void app.register(
    async (plain) => {
      const scope = pagesOnly(plain);
      // RFC 8058 lets mail providers send the one-click POST as multipart/form-data or
      // application/x-www-form-urlencoded, and some send nothing at all: every body is accepted and
      // ignored, since the token alone says who unsubscribes.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        '*',
        { parseAs: 'buffer', bodyLimit: UNSUBSCRIBE_BODY_LIMIT },
        (_request, _body, done) => done(null, undefined),
      );

      scope.get(
        '/:token',
        {
          config: { access: 'public' },
          schema: {
            tags,
            summary: 'Unsubscribe page: asks the recipient to confirm (a form that POSTs to the same URL)',
            params: TokenParams,
            security: [],
            produces: ['text/html'],
            response: { 200: HtmlPage('The confirmation form'), 404: HtmlPage('Unknown token') },
          },
        },
        async (request, reply) =>
          (await unsubscribeLinkExists(ctx.database, request.params.token))
            ? confirmUnsubscribePage(reply, request.params.token)
            : invalidLinkPage(reply),
      );

      scope.post(
        '/:token',
        {
          config: { access: 'public' },
          schema: {
            tags,
            summary: 'Unsubscribe (RFC 8058 one-click): the address and UUID are suppressed from now on',
            description:
              'Body `List-Unsubscribe=One-Click` (form-encoded or multipart) or none. Idempotent: 200 and the confirmation page every time; 404 page for an unknown token.',
            params: TokenParams,
            security: [],
            produces: ['text/html'],
            response: { 200: HtmlPage('Unsubscribed (also when already)'), 404: HtmlPage('Unknown token') },
          },
        },
        async (request, reply) => {
          const outcome = await unsubscribeByLink(ctx.database, ctx.vault, request.params.token);
          return outcome.kind === 'unknown' ? invalidLinkPage(reply) : unsubscribedPage(reply);
        },
      );
    },
    { prefix: '/u' },
  );
}
