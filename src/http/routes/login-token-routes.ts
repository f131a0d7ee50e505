import { Type } from '@sinclair/typebox';
import { login } from '../../accounts/authentication.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { AppError } from '../../errors.js';

/** `POST /api/LoginToken`, the OAuth-style password grant that clients of the original module call. */
export function loginTokenRoutes(app: HttpApp, ctx: HttpContext): void {
  app.post(
    '/api/LoginToken',
    {
      config: { access: 'public' },
      schema: {
        tags: ['authentication'],
        summary: 'Exchange a username and password for an access token',
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
    async (request) => {
      const { grant_type, username, password } = request.body;
      if (grant_type !== 'password') {
        throw new AppError('VALIDATION_FAILED', `grant_type must be "password" (got "${grant_type.slice(0, 40)}").`);
      }
      const token = await login(ctx.database.db, username, password, ctx.config.accessTokenTtlSeconds);
      if (!token) throw new AppError('UNAUTHORIZED', 'The username or password is wrong.');
      return { access_token: token.accessToken, token_type: 'bearer' as const, expires_in: token.expiresIn };
    },
  );
}
