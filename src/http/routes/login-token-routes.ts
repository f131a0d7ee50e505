import { Type } from '@sinclair/typebox';
import { login } from '../../accounts/authentication.js';
import { ADDRESS_POLICY, LoginThrottle, USER_POLICY } from '../../accounts/login-throttle.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { AppError } from '../../errors.js';

const LOGIN_BODY_LIMIT_BYTES = 4096;

/** `POST /api/LoginToken`, the OAuth-style password grant that clients of the original module call. */
export function loginTokenRoutes(app: HttpApp, ctx: HttpContext): void {
  const byAddress = new LoginThrottle(ADDRESS_POLICY);
  const byUser = new LoginThrottle(USER_POLICY);
  app.post(
    '/api/LoginToken',
    {
      config: { access: 'public' },
      // A user name and a password: anything larger is not a sign-in.
      bodyLimit: Math.min(LOGIN_BODY_LIMIT_BYTES, ctx.config.bodyLimitBytes),
      schema: {
        tags: ['authentication'],
        summary: 'Exchange a username and password for an access token',
        description:
          'Failed sign-ins are counted per client address and per user name; past a few, each further one locks that address or user name out for twice as long as the last (429 with Retry-After, up to 15 minutes).',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: Type.Object({
          grant_type: Type.String(),
          username: Type.String({ minLength: 1, maxLength: 200 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
        }),
        response: {
          200: Type.Object({
            access_token: Type.String(),
            token_type: Type.Literal('bearer'),
            expires_in: Type.Integer(),
          }),
        },
      },
    },
    async (request, reply) => {
      const { grant_type, username, password } = request.body;
      if (grant_type !== 'password') {
        throw new AppError('VALIDATION_FAILED', `grant_type must be "password" (got "${grant_type.slice(0, 40)}").`);
      }
      const userKey = username.toLowerCase();
      const waitMs = Math.max(byAddress.waitMs(request.ip), byUser.waitMs(userKey));
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        reply.header('retry-after', String(seconds));
        throw new AppError('TOO_MANY_REQUESTS', `Too many failed sign-ins: try again in ${seconds} s.`);
      }
      const token = await login(ctx.database.db, username, password, ctx.config.accessTokenTtlSeconds);
      if (!token) {
        byAddress.failed(request.ip);
        byUser.failed(userKey);
        throw new AppError('UNAUTHORIZED', 'The username or password is wrong.');
      }
      byUser.succeeded(userKey);
      return { access_token: token.accessToken, token_type: 'bearer' as const, expires_in: token.expiresIn };
    },
  );
}
