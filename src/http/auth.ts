import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate } from '../accounts/authentication.js';
import { hasRole, type Principal } from '../accounts/principal.js';
import type { Db } from '../storage/database.js';
import type { Role } from '../storage/schema.js';
import { AppError } from '../errors.js';

/** What a route needs from its caller: nothing (`public`) or a role at least this high. */
export type Access = 'public' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Called with a bearer secret that did not authenticate, before the 401 (the route logs it). */
    onAuthenticationFailure?: (secret: string) => Promise<void>;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The caller of a route that requires authentication. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED', 'Authentication is required.');
  return request.principal;
}

/**
 * Every route requires a bearer secret unless its config says `access: 'public'`; a route that
 * does not name a role needs `viewer`, the lowest.
 */
export function installAuthentication(app: FastifyInstance, db: Db): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'viewer';
    if (access === 'public' || !request.routeOptions.url) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new AppError('UNAUTHORIZED', 'Send an API key or access token as "Authorization: Bearer <secret>".');
    }
    const principal = await authenticate(db, match[1]);
    if (!principal) {
      await request.routeOptions.config.onAuthenticationFailure?.(match[1]);
      throw new AppError('UNAUTHORIZED', 'The API key or access token is not valid (or has expired or been revoked).');
    }
    if (!hasRole(principal.role, access)) {
      throw new AppError(
        'FORBIDDEN',
        `This needs the ${access} role; your credentials have the ${principal.role} role.`,
      );
    }
    request.principal = principal;
  });
}
