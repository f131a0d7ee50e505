import type { IncomingHttpHeaders } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { systemClock } from '../../clock.js';
import {
  answerHandshake,
  assertCallbackVendor,
  receiveVendorCallback,
  type CallbackServices,
} from '../../pipeline/feedback/vendor-callback.js';
import { findVendorAdapter } from '../../vendors/vendor-registry.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { sendError, toAppError } from '../error-handler.js';

const CallbackParams = Type.Object({
  kind: Type.String({ description: 'The vendor kind, e.g. twilio, whatsapp-cloud' }),
  vendorId: Type.String({ description: "The vendor's id in Herald" }),
});

const Summary = Type.Object({
  applied: Type.Integer({ description: "Reports that changed a message's status or added a reply" }),
  duplicates: Type.Integer({ description: 'Reports seen before (same vendor event id): nothing changed' }),
  ignored: Type.Integer({ description: "Reports behind the message's status (out of order or after a final one)" }),
  unknown: Type.Integer({ description: 'Reports about messages Herald does not know: acknowledged and dropped' }),
});

/** Node's headers as a vendor handler reads them: repeated headers joined, as HTTP allows. */
function flatHeaders(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]),
  );
}

function firstValues(query: unknown): Record<string, string | undefined> {
  const entries = Object.entries((query ?? {}) as Record<string, unknown>);
  return Object.fromEntries(
    entries.map(([name, value]) => [name, Array.isArray(value) ? String(value[0]) : String(value)]),
  );
}

/**
 * Signed vendor callbacks, public: `POST /hooks/{kind}/{vendorId}` (delivery reports and replies)
 * and `GET /hooks/{kind}/{vendorId}` (subscription handshakes). Bodies are kept exactly as sent,
 * whatever their type, because signatures are computed over them.
 */
export function vendorCallbackRoutes(app: HttpApp, ctx: HttpContext): void {
  const services: CallbackServices = {
    database: ctx.database,
    platform: ctx.platform,
    vault: ctx.vault,
    logger: app.log,
    clock: systemClock,
  };
  const limit = ctx.config.callbackBodyLimitBytes;
  // Vendors sign the URL they called (Twilio): behind a proxy, that is the public one.
  const calledUrl = (request: FastifyRequest) =>
    `${ctx.config.publicUrl ?? `${request.protocol}://${request.host}`}${request.url}`;
  const tags = ['callbacks'];

  void app.register(
    async (plain) => {
      const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: limit }, (_request, body, done) =>
        done(null, body),
      );
      // The one error shape, with this scope's own body limit in the 413's message.
      scope.setErrorHandler((error, request, reply) => {
        const appError = toAppError(error, limit);
        if (appError.code === 'INTERNAL') request.log.error({ err: error }, 'unhandled error');
        return sendError(reply, request, appError);
      });

      scope.post(
        '/:kind/:vendorId',
        {
          config: { access: 'public' },
          bodyLimit: limit,
          // Before the body is read: an unknown vendor's callback is refused with its body unread.
          onRequest: async (request) => {
            const { kind, vendorId } = request.params;
            await assertCallbackVendor(services, kind, vendorId);
          },
          schema: {
            tags,
            summary: 'A vendor callback: delivery reports (delivered, read, bounced, failed) and replies',
            description:
              "Verified by the vendor kind (signature, token or credentials): 401 and nothing recorded otherwise. 404 for an unknown vendor or a kind that is not the vendor's; 400 for a body the kind cannot read. Each vendor event is applied once; statuses only move forward (sent < delivered < read; bounced and failed are final).",
            params: CallbackParams,
            security: [],
            response: { 200: Summary },
          },
        },
        async (request) =>
          receiveVendorCallback(services, request.params.kind, request.params.vendorId, {
            url: calledUrl(request),
            headers: flatHeaders(request.headers),
            rawBody: typeof request.body === 'string' ? request.body : '',
          }),
      );

      scope.get(
        '/:kind/:vendorId',
        {
          config: { access: 'public' },
          schema: {
            tags,
            summary: "A vendor's subscription handshake (e.g. WhatsApp's hub.challenge), or a report sent by GET",
            description:
              'For kinds with a handshake: the text the vendor expects (200, text/plain), 403 when its token does not match. For kinds that report by GET (MessageBird status reports), the same as POST, the report in the query string.',
            params: CallbackParams,
            security: [],
          },
        },
        async (request, reply) => {
          if (!findVendorAdapter(request.params.kind)?.callbacks?.handshake) {
            return receiveVendorCallback(services, request.params.kind, request.params.vendorId, {
              url: calledUrl(request),
              headers: flatHeaders(request.headers),
              rawBody: '',
            });
          }
          const answer = await answerHandshake(
            services,
            request.params.kind,
            request.params.vendorId,
            firstValues(request.query),
          );
          return reply.type('text/plain; charset=utf-8').send(answer);
        },
      );
    },
    { prefix: '/hooks' },
  );
}
