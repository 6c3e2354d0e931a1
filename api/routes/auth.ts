/**
 * /api/v1/auth: register (a new tenant and its admin), login, refresh (rotation with reuse
 * detection), logout, logout-all, me, change-password.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { Tenant, User, type IUser } from '../../entities/index.ts';
import { recordAuthEvent, type ClientInfo } from '../../lib/accounts/audit.ts';
import { issueRefreshToken, revokeFamily, revokeUserSessions, useRefreshToken } from '../../lib/accounts/sessions.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword, weakPasswordRule } from '../../lib/auth/passwords.ts';
import { signAccessToken } from '../../lib/auth/tokens.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError } from '../../lib/errors.ts';
import { currentUser } from '../auth/authenticate.ts';
import { clientInfo } from '../auth/client-info.ts';
import { EmailSchema, NameSchema, PasswordSchema, TenantSchema, TenantSlugSchema, TokenPairSchema, UserSchema, userView } from '../auth/schemas.ts';
import type { ApiDeps } from '../context.ts';
import type { LoginLimiters } from '../rate-limits.ts';
import { rateLimited, setRateLimitHeaders } from '../middleware/rate-limit.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

const invalidCredentials = () => new AppError(401, 'INVALID_CREDENTIALS', 'Tenant, e-mail or password is wrong');

export function assertStrongPassword(password: string): void {
  const weak = weakPasswordRule(password);
  if (weak) throw new AppError(422, 'WEAK_PASSWORD', weak.message, { details: { rule: weak.rule } });
}

export function createAuthRouter(deps: ApiDeps, registry: ApiRegistry, limiters: LoginLimiters | null): Router {
  const router = new Router({ prefix: '' });
  const { orm, config } = deps;
  const db = <T>(fn: (em: EntityManager) => Promise<T>) => withDependency('postgresql', () => fn(orm.em.fork()));

  async function issuePair(em: EntityManager, user: IUser, client: ClientInfo, family?: { familyId: string; parentId: string }) {
    const refresh = await issueRefreshToken(em, {
      tenantId: user.tenantId,
      userId: user.id,
      familyId: family?.familyId,
      parentId: family?.parentId ?? null,
      ttlDays: config.auth.refreshTokenTtlDays,
      client,
    });
    return {
      access_token: signAccessToken(config.auth, { userId: user.id, tenantId: user.tenantId, role: user.role, sessionId: refresh.familyId }),
      refresh_token: refresh.token,
      token_type: 'Bearer' as const,
      expires_in: config.auth.accessTokenTtlSeconds,
      refresh_expires_in: config.auth.refreshTokenTtlDays * 86_400,
    };
  }

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/auth/register', operationId: 'register', tags: ['Auth'],
    summary: 'Create a tenant and its first user (the tenant admin)',
    description: 'An existing tenant slug is refused: users join a tenant only when its admin or manager creates them.',
    body: z.object({ tenant: TenantSlugSchema, tenant_name: NameSchema.optional(), email: EmailSchema, password: PasswordSchema, name: NameSchema }),
    responses: {
      201: { description: 'Created', schema: z.object({ user: UserSchema, tenant: TenantSchema }) },
      409: { description: 'TENANT_EXISTS' },
      422: { description: 'VALIDATION_FAILED, WEAK_PASSWORD (details.rule names the rule)' },
    },
  }, async (ctx, { body }) => {
    assertStrongPassword(body.password);
    const passwordHash = await hashPassword(body.password);
    const client = clientInfo(ctx);
    const { tenant, user } = await db(async (em) => {
      try {
        return await em.transactional(async (tx) => {
          const tenant = { id: randomUUID(), slug: body.tenant, name: body.tenant_name ?? body.tenant };
          await tx.insert(Tenant, tenant);
          const userId = randomUUID();
          await tx.insert(User, { id: userId, tenantId: tenant.id, email: body.email, passwordHash, name: body.name, role: 'admin' });
          await recordAuthEvent(tx, { type: 'registered', tenantId: tenant.id, userId, actorId: userId, client });
          return { tenant, user: await tx.findOneOrFail(User, { id: userId, tenantId: tenant.id }) };
        });
      } catch (err) {
        if (err instanceof UniqueConstraintViolationException) throw new AppError(409, 'TENANT_EXISTS', `Tenant "${body.tenant}" already exists`);
        throw err;
      }
    });
    ctx.state.log.info({ tenantId: tenant.id, userId: user.id }, 'tenant registered');
    ctx.status = 201;
    ctx.body = { user: userView(user), tenant };
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/auth/login', operationId: 'login', tags: ['Auth'],
    summary: 'Exchange tenant, e-mail and password for an access and a refresh token',
    description: 'Unknown tenant, unknown e-mail and wrong password answer the same 401 in about the same time. Failures are limited per account and IP and per IP.',
    body: z.object({ tenant: z.string().trim().toLowerCase().min(1).max(63), email: z.string().trim().toLowerCase().min(1).max(254), password: PasswordSchema }),
    responses: {
      200: { description: 'Tokens', schema: TokenPairSchema },
      401: { description: 'INVALID_CREDENTIALS' },
      429: { description: 'RATE_LIMITED: too many failed logins; see Retry-After' },
    },
  }, async (ctx, { body }) => {
    const client = clientInfo(ctx);
    const accountKey = `${body.tenant}:${body.email}:${client.ip ?? '-'}`;
    const ipKey = client.ip ?? '-';
    for (const decision of limiters ? await Promise.all([limiters.account.peek(accountKey), limiters.ip.peek(ipKey)]) : []) {
      setRateLimitHeaders(ctx, decision);
      if (!decision.allowed) throw rateLimited(decision);
    }
    const found = await db(async (em) => {
      const tenant = await em.findOne(Tenant, { slug: body.tenant });
      const user = tenant ? await em.findOne(User, { tenantId: tenant.id, email: body.email }) : null;
      return { tenant, user };
    });
    const ok = found.user && found.user.isActive
      ? await verifyPassword(found.user.passwordHash, body.password)
      : await verifyAgainstDummy(body.password);
    if (!ok || !found.user) {
      const decisions = limiters ? await Promise.all([limiters.account.consume(accountKey), limiters.ip.consume(ipKey)]) : [];
      for (const decision of decisions) setRateLimitHeaders(ctx, decision);
      await db((em) => recordAuthEvent(em, {
        type: 'login_failed', tenantId: found.tenant?.id ?? null, userId: found.user?.id ?? null, client,
        metadata: { reason: !found.tenant ? 'unknown_tenant' : !found.user ? 'unknown_email' : !found.user.isActive ? 'inactive' : 'wrong_password' },
      }));
      throw invalidCredentials();
    }
    await limiters?.account.reset(accountKey);
    const user = found.user;
    ctx.body = await db(async (em) => {
      const pair = await issuePair(em, user, client);
      await recordAuthEvent(em, { type: 'login_succeeded', tenantId: user.tenantId, userId: user.id, actorId: user.id, client });
      return pair;
    });
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/auth/refresh', operationId: 'refresh', tags: ['Auth'],
    summary: 'Rotate a refresh token: the presented one becomes used, a new pair is returned',
    description: 'Presenting a used or revoked refresh token answers 401 REFRESH_TOKEN_REUSED and revokes its whole family. Of two concurrent refreshes of one token exactly one succeeds.',
    body: z.object({ refresh_token: z.string().min(20).max(200) }),
    responses: {
      200: { description: 'A new pair', schema: TokenPairSchema },
      401: { description: 'INVALID_REFRESH_TOKEN, REFRESH_TOKEN_EXPIRED, REFRESH_TOKEN_REUSED' },
    },
  }, async (ctx, { body }) => {
    const client = clientInfo(ctx);
    ctx.body = await db(async (em) => {
      const used = await useRefreshToken(em, body.refresh_token);
      if (used.kind === 'reused') {
        await recordAuthEvent(em, { type: 'refresh_reuse_detected', tenantId: used.tenantId, userId: used.userId, client, metadata: { family_id: used.familyId } });
        ctx.state.log.warn({ userId: used.userId, familyId: used.familyId }, 'refresh token reuse: family revoked');
        throw new AppError(401, 'REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been revoked');
      }
      if (used.kind === 'expired') throw new AppError(401, 'REFRESH_TOKEN_EXPIRED', 'The refresh token has expired; log in again');
      if (used.kind === 'unknown') throw new AppError(401, 'INVALID_REFRESH_TOKEN', 'The refresh token is not valid');
      const user = await em.findOne(User, { id: used.userId, tenantId: used.tenantId });
      if (!user || !user.isActive) {
        await revokeFamily(em, used.familyId);
        throw new AppError(401, 'UNAUTHENTICATED', 'This account is not active');
      }
      const pair = await issuePair(em, user, client, { familyId: used.familyId, parentId: used.id });
      await recordAuthEvent(em, { type: 'refresh', tenantId: user.tenantId, userId: user.id, actorId: user.id, client });
      return pair;
    });
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/auth/logout', operationId: 'logout', tags: ['Auth'], auth: 'user',
    summary: 'Revoke the current session (the refresh-token family of this access token)',
    responses: { 204: { description: 'Revoked' } },
  }, async (ctx) => {
    const user = currentUser(ctx);
    await db(async (em) => {
      await revokeFamily(em, user.sessionId, user.id);
      await recordAuthEvent(em, { type: 'logout', tenantId: user.homeTenantId, userId: user.id, actorId: user.id, client: clientInfo(ctx) });
    });
    ctx.status = 204;
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/auth/logout-all', operationId: 'logoutAll', tags: ['Auth'], auth: 'user',
    summary: 'Revoke every session of the caller',
    responses: { 200: { description: 'How many refresh tokens were revoked', schema: z.object({ revoked: z.number().int() }) } },
  }, async (ctx) => {
    const user = currentUser(ctx);
    ctx.body = await db(async (em) => {
      const revoked = await revokeUserSessions(em, user.id);
      await recordAuthEvent(em, { type: 'logout_all', tenantId: user.homeTenantId, userId: user.id, actorId: user.id, client: clientInfo(ctx), metadata: { revoked } });
      return { revoked };
    });
  });

  const MeSchema = z.object({
    id: z.uuid(), email: z.string(), name: z.string(), role: z.string(), tenant_id: z.uuid(), tenant_slug: z.string(), is_superuser: z.boolean(),
  }).meta({ id: 'Me' });

  async function me(em: EntityManager, userId: string, tenantId: string) {
    const user = await em.findOneOrFail(User, { id: userId, tenantId });
    const tenant = await em.findOneOrFail(Tenant, { id: tenantId });
    return { id: user.id, email: user.email, name: user.name, role: user.role, tenant_id: tenant.id, tenant_slug: tenant.slug, is_superuser: user.isSuperuser };
  }

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/auth/me', operationId: 'getMe', tags: ['Auth'], auth: 'user',
    summary: 'The caller',
    responses: { 200: { description: 'The caller', schema: MeSchema } },
  }, async (ctx) => {
    const user = currentUser(ctx);
    ctx.body = await db((em) => me(em, user.id, user.homeTenantId));
  });

  registry.addRoute(router, {
    method: 'patch', path: '/api/v1/auth/me', operationId: 'patchMe', tags: ['Auth'], auth: 'user',
    summary: 'Change your name (only the name: any other field is refused with 422)',
    body: z.strictObject({ name: NameSchema }),
    responses: { 200: { description: 'The caller', schema: MeSchema }, 422: { description: 'VALIDATION_FAILED (unknown fields such as role, tenant_id, is_superuser)' } },
  }, async (ctx, { body }) => {
    const user = currentUser(ctx);
    ctx.body = await db(async (em) => {
      await em.nativeUpdate(User, { id: user.id, tenantId: user.homeTenantId }, { name: body.name });
      await recordAuthEvent(em, { type: 'user_updated', tenantId: user.homeTenantId, userId: user.id, actorId: user.id, client: clientInfo(ctx), metadata: { fields: ['name'] } });
      return me(em, user.id, user.homeTenantId);
    });
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/auth/me/change-password', operationId: 'changePassword', tags: ['Auth'], auth: 'user',
    summary: 'Change your password; every other session is revoked',
    body: z.object({ current_password: PasswordSchema, new_password: PasswordSchema }),
    responses: { 204: { description: 'Changed' }, 422: { description: 'INVALID_CURRENT_PASSWORD, WEAK_PASSWORD' } },
  }, async (ctx, { body }) => {
    const caller = currentUser(ctx);
    const user = await db((em) => em.findOneOrFail(User, { id: caller.id, tenantId: caller.homeTenantId }));
    if (!(await verifyPassword(user.passwordHash, body.current_password))) {
      throw new AppError(422, 'INVALID_CURRENT_PASSWORD', 'The current password is wrong');
    }
    assertStrongPassword(body.new_password);
    const passwordHash = await hashPassword(body.new_password);
    await db((em) => em.transactional(async (tx) => {
      await tx.nativeUpdate(User, { id: user.id, tenantId: user.tenantId }, { passwordHash });
      const revoked = await revokeUserSessions(tx, user.id, caller.sessionId);
      await recordAuthEvent(tx, { type: 'password_changed', tenantId: user.tenantId, userId: user.id, actorId: user.id, client: clientInfo(ctx), metadata: { revoked_sessions: revoked } });
    }));
    ctx.status = 204;
  });

  return router;
}
