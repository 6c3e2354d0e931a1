/**
 * /api/v1/users — the tenant's users, for its admins and managers. Delete is a soft delete
 * (is_active=false; the user's sessions are revoked and their access tokens stop working at once).
 * A manager cannot create, promote or change admins. Another tenant's user is 404.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { User, type IUser, type Role } from '../../entities/index.ts';
import { recordAuthEvent } from '../../lib/accounts/audit.ts';
import { revokeUserSessions } from '../../lib/accounts/sessions.ts';
import { hashPassword } from '../../lib/auth/passwords.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { currentUser, forbidden } from '../auth/authenticate.ts';
import { clientInfo } from '../auth/client-info.ts';
import { EmailSchema, NameSchema, PasswordSchema, RoleSchema, UserSchema, userView } from '../auth/schemas.ts';
import type { ApiDeps, AuthUser } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { afterCursor, decodeCursor, PageQuerySchema, pageOf } from '../pagination.ts';
import { assertStrongPassword } from './auth.ts';

const MANAGERS: readonly Role[] = ['admin', 'manager'];
const IdParams = z.object({ id: z.string().max(64) });

const emailTaken = (email: string) => new AppError(409, 'EMAIL_TAKEN', `A user with e-mail ${email} already exists in this tenant`);

/** Managers may not create, promote or change admins; only admins (and superusers) may. */
function assertMayAssign(caller: AuthUser, role: Role | undefined, target?: IUser): void {
  if (caller.isSuperuser || caller.role === 'admin') return;
  if (role === 'admin' || target?.role === 'admin') throw forbidden('A manager cannot create, promote or change admins');
}

export function createUsersRouter(deps: ApiDeps, registry: ApiRegistry): Router {
  const router = new Router();
  const db = <T>(fn: (em: EntityManager) => Promise<T>) => withDependency('postgresql', () => fn(deps.orm.em.fork()));

  async function findUser(em: EntityManager, tenantId: string, id: string): Promise<IUser> {
    if (!z.uuid().safeParse(id).success) throw notFound('User');
    const user = await em.findOne(User, { id, tenantId });
    if (!user) throw notFound('User');
    return user;
  }

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/users', operationId: 'listUsers', tags: ['Users'], auth: MANAGERS,
    summary: "The tenant's users, newest first",
    query: PageQuerySchema.extend({ role: RoleSchema.optional(), is_active: z.enum(['true', 'false']).optional() }),
    responses: { 200: { description: 'A page', schema: z.object({ items: z.array(UserSchema), next_cursor: z.string().nullable() }) } },
  }, async (ctx, { query }) => {
    const caller = currentUser(ctx);
    const cursor = decodeCursor(query.cursor);
    const rows = await db((em) => em.find(
      User,
      {
        tenantId: caller.tenantId,
        ...(query.role ? { role: query.role } : {}),
        ...(query.is_active ? { isActive: query.is_active === 'true' } : {}),
        ...afterCursor(cursor),
      },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit + 1 },
    ));
    const page = pageOf(rows, query.limit);
    ctx.body = { items: page.items.map(userView), next_cursor: page.nextCursor };
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/users', operationId: 'createUser', tags: ['Users'], auth: MANAGERS,
    summary: 'Create a user in the tenant',
    body: z.object({ email: EmailSchema, password: PasswordSchema, name: NameSchema, role: RoleSchema.default('user') }),
    responses: {
      201: { description: 'Created', schema: UserSchema },
      409: { description: 'EMAIL_TAKEN' },
      422: { description: 'VALIDATION_FAILED, WEAK_PASSWORD' },
    },
  }, async (ctx, { body }) => {
    const caller = currentUser(ctx);
    assertMayAssign(caller, body.role);
    assertStrongPassword(body.password);
    const passwordHash = await hashPassword(body.password);
    const user = await db(async (em) => {
      try {
        return await em.transactional(async (tx) => {
          const id = randomUUID();
          await tx.insert(User, { id, tenantId: caller.tenantId, email: body.email, passwordHash, name: body.name, role: body.role });
          await recordAuthEvent(tx, { type: 'user_created', tenantId: caller.tenantId, userId: id, actorId: caller.id, client: clientInfo(ctx), metadata: { role: body.role } });
          return tx.findOneOrFail(User, { id, tenantId: caller.tenantId });
        });
      } catch (err) {
        if (err instanceof UniqueConstraintViolationException) throw emailTaken(body.email);
        throw err;
      }
    });
    ctx.status = 201;
    ctx.set('Location', `/api/v1/users/${user.id}`);
    ctx.body = userView(user);
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/users/:id', operationId: 'getUser', tags: ['Users'], auth: MANAGERS,
    summary: 'A user of the tenant',
    params: IdParams,
    responses: { 200: { description: 'The user', schema: UserSchema }, 404: { description: 'NOT_FOUND (also for another tenant\'s user)' } },
  }, async (ctx, { params }) => {
    const caller = currentUser(ctx);
    ctx.body = userView(await db((em) => findUser(em, caller.tenantId, params.id)));
  });

  registry.addRoute(router, {
    method: 'patch', path: '/api/v1/users/:id', operationId: 'patchUser', tags: ['Users'], auth: MANAGERS,
    summary: "Change a user's name, role or active flag",
    params: IdParams,
    body: z.strictObject({ name: NameSchema.optional(), role: RoleSchema.optional(), is_active: z.boolean().optional() })
      .refine((b) => Object.keys(b).length > 0, 'nothing to change'),
    responses: { 200: { description: 'The user', schema: UserSchema }, 404: { description: 'NOT_FOUND' }, 409: { description: 'CANNOT_CHANGE_SELF' } },
  }, async (ctx, { params, body }) => {
    const caller = currentUser(ctx);
    ctx.body = userView(await db(async (em) => {
      const target = await findUser(em, caller.tenantId, params.id);
      assertMayAssign(caller, body.role, target);
      if (target.id === caller.id && (body.role !== undefined || body.is_active === false)) {
        throw new AppError(409, 'CANNOT_CHANGE_SELF', 'You cannot change your own role or deactivate yourself');
      }
      await em.transactional(async (tx) => {
        await tx.nativeUpdate(User, { id: target.id, tenantId: caller.tenantId }, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.role !== undefined ? { role: body.role } : {}),
          ...(body.is_active !== undefined ? { isActive: body.is_active } : {}),
          updatedAt: new Date(),
        });
        if (body.is_active === false) await revokeUserSessions(tx, target.id);
        await recordAuthEvent(tx, {
          type: body.is_active === false ? 'user_deactivated' : 'user_updated',
          tenantId: caller.tenantId, userId: target.id, actorId: caller.id, client: clientInfo(ctx), metadata: { fields: Object.keys(body) },
        });
      });
      return em.fork().findOneOrFail(User, { id: target.id, tenantId: caller.tenantId });
    }));
  });

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/users/:id', operationId: 'deleteUser', tags: ['Users'], auth: MANAGERS,
    summary: 'Deactivate a user (soft delete): sessions revoked, access tokens refused at once',
    params: IdParams,
    responses: { 204: { description: 'Deactivated' }, 404: { description: 'NOT_FOUND' }, 409: { description: 'CANNOT_CHANGE_SELF' } },
  }, async (ctx, { params }) => {
    const caller = currentUser(ctx);
    await db(async (em) => {
      const target = await findUser(em, caller.tenantId, params.id);
      assertMayAssign(caller, undefined, target);
      if (target.id === caller.id) throw new AppError(409, 'CANNOT_CHANGE_SELF', 'You cannot deactivate yourself');
      await em.transactional(async (tx) => {
        await tx.nativeUpdate(User, { id: target.id, tenantId: caller.tenantId }, { isActive: false, updatedAt: new Date() });
        await revokeUserSessions(tx, target.id);
        await recordAuthEvent(tx, { type: 'user_deactivated', tenantId: caller.tenantId, userId: target.id, actorId: caller.id, client: clientInfo(ctx) });
      });
    });
    ctx.status = 204;
  });

  return router;
}
