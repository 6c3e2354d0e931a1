/**
 * `authenticate`: a valid bearer access token of an active user, checked against the database on
 * every request (a deactivated user's unexpired token stops working at once). A superuser acts in
 * another tenant only with an explicit `X-Tenant-Id` (tenant id or slug).
 * `requireRole(...)`: the caller's role is one of those given (superusers pass).
 */
import type { Middleware, Next } from 'koa';
import { Tenant, User, type Role } from '../../entities/index.ts';
import { verifyAccessToken, InvalidTokenError } from '../../lib/auth/tokens.ts';
import type { AuthConfig } from '../../lib/config.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError } from '../../lib/errors.ts';
import type { ApiContext } from '../openapi/registry.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function unauthenticated(message = 'A valid bearer access token is required'): AppError {
  return new AppError(401, 'UNAUTHENTICATED', message, { headers: { 'WWW-Authenticate': 'Bearer realm="moviola"' } });
}

export const forbidden = (message = 'Your role does not allow this') => new AppError(403, 'FORBIDDEN', message);

function bearerToken(header: string): string | null {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header.trim());
  return match ? match[1]! : null;
}

export function createAuthenticate(deps: { orm: Orm; auth: AuthConfig }): Middleware {
  return async (ctx, next: Next) => {
    const token = bearerToken(ctx.get('authorization'));
    if (!token) throw unauthenticated();
    let claims;
    try {
      claims = verifyAccessToken(deps.auth, token);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw unauthenticated(err.reason === 'expired' ? 'The access token has expired' : 'The access token is not valid');
      throw err;
    }
    if (!UUID.test(claims.sub) || !UUID.test(claims.tenant_id)) throw unauthenticated('The access token is not valid');
    const em = deps.orm.em.fork();
    const user = await withDependency('postgresql', () => em.findOne(User, { id: claims.sub, tenantId: claims.tenant_id }));
    if (!user || !user.isActive) throw unauthenticated('This account is not active');

    let tenantId = user.tenantId;
    const requested = ctx.get('x-tenant-id').trim();
    if (requested) {
      if (!user.isSuperuser) throw forbidden('Only a superuser may act in another tenant');
      const tenant = await withDependency('postgresql', () =>
        em.findOne(Tenant, UUID.test(requested) ? { id: requested } : { slug: requested.toLowerCase() }),
      );
      if (!tenant) throw new AppError(404, 'NOT_FOUND', 'Tenant not found');
      tenantId = tenant.id;
    }
    (ctx as ApiContext).state.user = {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      isSuperuser: user.isSuperuser,
      homeTenantId: user.tenantId,
      tenantId,
      sessionId: claims.sid,
    };
    (ctx as ApiContext).state.log = (ctx as ApiContext).state.log.child({ tenantId, userId: user.id });
    await next();
  };
}

export function requireRole(roles: readonly Role[]): Middleware {
  return async (ctx, next) => {
    const user = (ctx as ApiContext).state.user;
    if (!user) throw unauthenticated();
    if (!user.isSuperuser && !roles.includes(user.role)) throw forbidden(`This needs one of the roles: ${roles.join(', ')}`);
    await next();
  };
}

/** The authenticated caller; for handlers of routes declared with `auth`. */
export function currentUser(ctx: ApiContext) {
  const user = ctx.state.user;
  if (!user) throw unauthenticated();
  return user;
}
