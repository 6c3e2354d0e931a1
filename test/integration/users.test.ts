/**
 * /api/v1/users on the real stack: roles, pagination, soft delete, tenant isolation, superusers,
 * and the login brute-force limit.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { User } from '../../entities/index.ts';
import { call, createUser, login, PASSWORD, registerTenant, type Session } from '../support/accounts.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

type Err = { error: { code: string } };
const code = (body: Record<string, unknown>) => (body as Err).error?.code;

describe('users of a tenant', () => {
  let stack: TestStack;
  let base: string;
  let admin: Session;
  let other: Session;

  before(async () => {
    stack = await startTestStack({ name: 'users', env: { RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '3' } });
    base = stack.baseUrl;
    admin = await registerTenant(base);
    other = await registerTenant(base);
  });
  after(async () => {
    await stack?.stop();
  });

  it('lets an admin create, read and change users', async () => {
    const created = await call(base, 'POST', '/api/v1/users', { token: admin.access, body: { email: 'Editor@X.example', password: PASSWORD, name: 'Ed', role: 'editor' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.role, 'editor');
    assert.equal(created.body.email, 'editor@x.example');
    assert.equal(created.body.tenant_id, admin.tenantId);
    const id = String(created.body.id);
    assert.equal(created.headers.get('location'), `/api/v1/users/${id}`);

    const got = await call(base, 'GET', `/api/v1/users/${id}`, { token: admin.access });
    assert.equal(got.status, 200);
    assert.equal(got.body.name, 'Ed');
    const patched = await call(base, 'PATCH', `/api/v1/users/${id}`, { token: admin.access, body: { name: 'Edna', role: 'viewer' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Edna');
    assert.equal(patched.body.role, 'viewer');
  });

  it('answers a duplicate e-mail in the tenant 409 EMAIL_TAKEN, whatever its case', async () => {
    const body = { email: 'dup@x.example', password: PASSWORD, name: 'D', role: 'user' };
    assert.equal((await call(base, 'POST', '/api/v1/users', { token: admin.access, body })).status, 201);
    const again = await call(base, 'POST', '/api/v1/users', { token: admin.access, body: { ...body, email: 'DUP@x.example' } });
    assert.equal(again.status, 409);
    assert.equal(code(again.body), 'EMAIL_TAKEN');
    // The same e-mail in another tenant is another user.
    assert.equal((await call(base, 'POST', '/api/v1/users', { token: other.access, body })).status, 201);
  });

  it('answers a weak password 422 WEAK_PASSWORD and invalid fields 422', async () => {
    const weak = await call(base, 'POST', '/api/v1/users', { token: admin.access, body: { email: 'w@x.example', password: 'password', name: 'W' } });
    assert.equal(weak.status, 422);
    assert.equal(code(weak.body), 'WEAK_PASSWORD');
    const badRole = await call(base, 'POST', '/api/v1/users', { token: admin.access, body: { email: 'r@x.example', password: PASSWORD, name: 'R', role: 'owner' } });
    assert.equal(badRole.status, 422);
  });

  it('pages through users newest first with a cursor', async () => {
    const tenant = await registerTenant(base);
    for (let i = 0; i < 4; i++) {
      await call(base, 'POST', '/api/v1/users', { token: tenant.access, body: { email: `p${i}@x.example`, password: PASSWORD, name: `P${i}`, role: 'user' } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: Record<string, unknown> } = await call(base, 'GET', `/api/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: tenant.access });
      assert.equal(page.status, 200);
      const items = page.body.items as Array<{ email: string }>;
      assert.ok(items.length <= 2);
      seen.push(...items.map((u) => u.email));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    assert.deepEqual(seen, ['p3@x.example', 'p2@x.example', 'p1@x.example', 'p0@x.example', tenant.email]);
    const filtered = await call(base, 'GET', '/api/v1/users?role=admin', { token: tenant.access });
    assert.deepEqual((filtered.body.items as Array<{ email: string }>).map((u) => u.email), [tenant.email]);
    assert.equal((await call(base, 'GET', '/api/v1/users?cursor=garbage', { token: tenant.access })).status, 422);
    assert.equal((await call(base, 'GET', '/api/v1/users?limit=500', { token: tenant.access })).status, 422);
  });

  it('deactivates on delete: the user\'s unexpired access token stops working at once', async () => {
    const victim = await createUser(base, admin, 'editor');
    assert.equal((await call(base, 'GET', '/api/v1/auth/me', { token: victim.access })).status, 200);
    assert.equal((await call(base, 'DELETE', `/api/v1/users/${victim.userId}`, { token: admin.access })).status, 204);
    const refused = await call(base, 'GET', '/api/v1/auth/me', { token: victim.access });
    assert.equal(refused.status, 401);
    assert.equal(code(refused.body), 'UNAUTHENTICATED');
    assert.equal((await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: victim.refresh } })).status, 401);
    assert.equal((await call(base, 'POST', '/api/v1/auth/login', { body: { tenant: admin.tenantSlug, email: victim.email, password: PASSWORD } })).status, 401);
    const row = await stack.orm.em.fork().findOneOrFail(User, { id: victim.userId });
    assert.equal(row.isActive, false, 'soft delete keeps the row');
    assert.equal((await call(base, 'GET', `/api/v1/users/${victim.userId}`, { token: admin.access })).body.is_active, false);
  });

  it('refuses to let an admin deactivate or demote themselves', async () => {
    assert.equal((await call(base, 'DELETE', `/api/v1/users/${admin.userId}`, { token: admin.access })).status, 409);
    assert.equal((await call(base, 'PATCH', `/api/v1/users/${admin.userId}`, { token: admin.access, body: { role: 'user' } })).status, 409);
  });

  it('lets a manager manage non-admins but never create, promote or change admins', async () => {
    const manager = await createUser(base, admin, 'manager');
    const editor = await call(base, 'POST', '/api/v1/users', { token: manager.access, body: { email: 'by-manager@x.example', password: PASSWORD, name: 'M', role: 'editor' } });
    assert.equal(editor.status, 201);
    const adminAttempt = await call(base, 'POST', '/api/v1/users', { token: manager.access, body: { email: 'boss2@x.example', password: PASSWORD, name: 'B', role: 'admin' } });
    assert.equal(adminAttempt.status, 403);
    assert.equal(code(adminAttempt.body), 'FORBIDDEN');
    const promote = await call(base, 'PATCH', `/api/v1/users/${String(editor.body.id)}`, { token: manager.access, body: { role: 'admin' } });
    assert.equal(promote.status, 403);
    assert.equal((await call(base, 'DELETE', `/api/v1/users/${admin.userId}`, { token: manager.access })).status, 403);
    assert.equal((await call(base, 'PATCH', `/api/v1/users/${admin.userId}`, { token: manager.access, body: { name: 'X' } })).status, 403);
  });

  for (const role of ['editor', 'viewer', 'user']) {
    it(`answers a ${role} 403 FORBIDDEN on /users`, async () => {
      const caller = await createUser(base, admin, role);
      const res = await call(base, 'GET', '/api/v1/users', { token: caller.access });
      assert.equal(res.status, 403);
      assert.equal(code(res.body), 'FORBIDDEN');
    });
  }

  it('answers another tenant\'s user id 404 on get, patch and delete', async () => {
    for (const [method, body] of [['GET', undefined], ['PATCH', { name: 'Pwned' }], ['DELETE', undefined]] as const) {
      const res = await call(base, method, `/api/v1/users/${other.userId}`, { token: admin.access, body });
      assert.equal(res.status, 404, method);
      assert.equal(code(res.body), 'NOT_FOUND');
    }
    const untouched = await stack.orm.em.fork().findOneOrFail(User, { id: other.userId });
    assert.equal(untouched.name, 'Admin');
    assert.equal(untouched.isActive, true);
  });

  it('lets a superuser act in another tenant only with X-Tenant-Id', async () => {
    const root = await createUser(base, admin, 'user');
    await stack.orm.em.fork().nativeUpdate(User, { id: root.userId }, { isSuperuser: true });
    const own = await call(base, 'GET', '/api/v1/users', { token: root.access });
    assert.equal(own.status, 200);
    assert.ok((own.body.items as Array<{ tenant_id: string }>).every((u) => u.tenant_id === admin.tenantId));
    for (const header of [other.tenantId, other.tenantSlug]) {
      const theirs = await call(base, 'GET', '/api/v1/users', { token: root.access, headers: { 'x-tenant-id': header } });
      assert.equal(theirs.status, 200);
      const items = theirs.body.items as Array<{ tenant_id: string }>;
      assert.ok(items.length > 0 && items.every((u) => u.tenant_id === other.tenantId));
    }
    const unknown = await call(base, 'GET', '/api/v1/users', { token: root.access, headers: { 'x-tenant-id': 'no-such-tenant' } });
    assert.equal(unknown.status, 404);
    const plain = await call(base, 'GET', '/api/v1/users', { token: admin.access, headers: { 'x-tenant-id': other.tenantId } });
    assert.equal(plain.status, 403);
  });

  it('stops login brute force with 429 and Retry-After, even for the right password', async () => {
    const target = await createUser(base, admin, 'user');
    for (let i = 0; i < 3; i++) {
      const res = await call(base, 'POST', '/api/v1/auth/login', { body: { tenant: admin.tenantSlug, email: target.email, password: `Wrong-${i}-Pass!` } });
      assert.equal(res.status, 401);
    }
    const limited = await call(base, 'POST', '/api/v1/auth/login', { body: { tenant: admin.tenantSlug, email: target.email, password: PASSWORD } });
    assert.equal(limited.status, 429);
    assert.equal(code(limited.body), 'RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    // The sliding window forgets the failures gradually: within two windows at most.
    assert.ok(retryAfter > 0 && retryAfter <= 1800, `Retry-After ${retryAfter}`);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.match(limited.headers.get('ratelimit-policy') ?? '', /"login-account";q=3;w=900/);
    // Another account from the same IP is not locked out by this one.
    await login(base, admin.tenantSlug, admin.email);
  });
});
