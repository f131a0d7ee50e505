import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from '../observability/logger.js';
import type { HttpApp, HttpContext } from './app-context.js';
import { installAuthentication } from './auth.js';
import { installErrorHandling } from './error-handler.js';
import { installRequestMetrics } from './request-metrics.js';
import { accountRoutes } from './routes/account-routes.js';
import { accountSettingsRoutes } from './routes/account-settings-routes.js';
import { questionnaireRoutes } from './routes/questionnaire-routes.js';
import { deliveryPolicyRoutes } from './routes/delivery-policy-routes.js';
import { vendorRoutes } from './routes/vendor-routes.js';
import { dispatchRoutes } from './routes/dispatch-routes.js';
import { unsubscribeRoutes } from './routes/unsubscribe-routes.js';
import { dispatchRequestRoutes } from './routes/dispatch-request-routes.js';
import { eventLogRoutes } from './routes/event-log-routes.js';
import { extendedPropertiesRoutes } from './routes/extended-properties-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { jobRoutes } from './routes/job-routes.js';
import { loginTokenRoutes } from './routes/login-token-routes.js';
import { templateRoutes } from './routes/template-routes.js';
import { linkRoutes } from './routes/link-routes.js';
import { responseRoutes } from './routes/response-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';
import { campaignReporterRoutes } from './routes/campaign-reporter-routes.js';
import { vendorCallbackRoutes } from './routes/vendor-callback-routes.js';
import { messageRoutes } from './routes/message-routes.js';
import { uploadRoutes } from './routes/upload-routes.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const CONNECTION_IDLE_TIMEOUT_MS = 60_000;

/** Every route module, in the order they appear in the API documentation. */
const routeModules = [
  healthRoutes,
  loginTokenRoutes,
  accountRoutes,
  jobRoutes,
  dispatchRequestRoutes,
  uploadRoutes,
  eventLogRoutes,
  extendedPropertiesRoutes,
  accountSettingsRoutes,
  questionnaireRoutes,
  deliveryPolicyRoutes,
  vendorRoutes,
  dispatchRoutes,
  unsubscribeRoutes,
  linkRoutes,
  responseRoutes,
  templateRoutes,
  webhookRoutes,
  campaignReporterRoutes,
  vendorCallbackRoutes,
  messageRoutes,
];

export async function buildServer(ctx: HttpContext, logger: Logger): Promise<HttpApp> {
  const baseLogger: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance: baseLogger,
    bodyLimit: ctx.config.bodyLimitBytes,
    // A client that sends its request slowly (or never finishes it) holds a connection only so long;
    // an idle connection is closed after a minute.
    requestTimeout: ctx.config.requestTimeoutMs,
    connectionTimeout: CONNECTION_IDLE_TIMEOUT_MS,
    // Node looks for requests past their timeout every 30 s by default: too coarse for the limit.
    http: { connectionsCheckingInterval: 1000 },
    // A caller's own request id is kept (when sane) so its logs and Herald's can be joined.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Node answers 408 to headers that do not arrive within requestTimeout, but waits for a body for
  // ever: a body not received within the same time closes the connection.
  app.addHook('onRequest', async (request) => {
    const raw = request.raw;
    if (raw.complete) return;
    const timer = setTimeout(() => {
      if (!raw.complete) raw.socket.destroy();
    }, ctx.config.requestTimeoutMs);
    timer.unref();
    raw.once('end', () => clearTimeout(timer));
    raw.once('close', () => clearTimeout(timer));
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  installErrorHandling(app);
  installRequestMetrics(app, ctx.metrics);
  installAuthentication(app, ctx.database.db);
  await app.register(formbody, { bodyLimit: ctx.config.bodyLimitBytes });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Herald API', version: '0.1.0', description: 'Survey invitations by email, SMS and WhatsApp.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // The browsable API documentation is public, like the OpenAPI document it shows.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, access: 'public' };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  for (const routes of routeModules) routes(app, ctx);
  return app;
}
