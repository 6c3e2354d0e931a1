/**
 * Accounts on the real stack: register, login, refresh rotation and reuse detection, logout,
 * me, change-password, token attacks, audit trail, and no raw refresh token in the database.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { AuthEvent } from '../../entities/index.ts';
import { call, login, PASSWORD, registerTenant, uniqueSlug, type Session } from '../support/accounts.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

type Err = { error: { code: string; message: string; details?: { rule?: string } } };
const code = (body: Record<string, unknown>) => (body as Err).error?.code;

describe('accounts and sessions', () => {
  let stack: TestStack;
  let base: string;
  let admin: Session;

  before(async () => {
    stack = await startTestStack({ name: 'auth', env: { CORS_ORIGINS: 'https://app.example.com' } });
    base = stack.baseUrl;
    admin = await registerTenant(base);
  });
  after(async () => {
    await stack?.stop();
  });

  describe('register', () => {
    it('creates the tenant with its registrant as admin', async () => {
      const slug = uniqueSlug();
      const res = await call(base, 'POST', '/api/v1/auth/register', { body: { tenant: slug, tenant_name: 'Acme Films', email: 'Boss@Acme.Example', password: PASSWORD, name: 'Boss' } });
      assert.equal(res.status, 201);
      const user = res.body.user as Record<string, unknown>;
      const tenant = res.body.tenant as Record<string, unknown>;
      assert.equal(tenant.slug, slug);
      assert.equal(tenant.name, 'Acme Films');
      assert.equal(user.role, 'admin');
      assert.equal(user.email, 'boss@acme.example');
      assert.equal(user.tenant_id, tenant.id);
      assert.equal(user.is_superuser, false);
      assert.equal('password_hash' in user, false);
    });

    it('refuses an existing tenant slug with 409 TENANT_EXISTS', async () => {
      const res = await call(base, 'POST', '/api/v1/auth/register', { body: { tenant: admin.tenantSlug, email: 'intruder@x.example', password: PASSWORD, name: 'X' } });
      assert.equal(res.status, 409);
      assert.equal(code(res.body), 'TENANT_EXISTS');
    });

    for (const [password, rule] of [['Short1!', 'min_length'], ['lowercase-only-1', 'uppercase'], ['No-Digits-Here', 'digit'], ['NoSpecial123', 'special']] as const) {
      it(`answers a weak password 422 WEAK_PASSWORD naming ${rule}`, async () => {
        const res = await call(base, 'POST', '/api/v1/auth/register', { body: { tenant: uniqueSlug(), email: 'a@b.example', password, name: 'A' } });
        assert.equal(res.status, 422);
        assert.equal(code(res.body), 'WEAK_PASSWORD');
        assert.equal((res.body as Err).error.details?.rule, rule);
      });
    }

    for (const [what, patch] of [
      ['an e-mail over 254 characters', { email: `${'a'.repeat(250)}@b.example` }],
      ['an invalid e-mail', { email: 'not-an-email' }],
      ['a name over 200 characters', { name: 'n'.repeat(201) }],
      ['a bad tenant slug', { tenant: 'Bad Slug!' }],
    ] as Array<[string, Record<string, string>]>) {
      it(`answers ${what} 422 VALIDATION_FAILED`, async () => {
        const res = await call(base, 'POST', '/api/v1/auth/register', { body: { tenant: uniqueSlug(), email: 'ok@b.example', password: PASSWORD, name: 'A', ...patch } });
        assert.equal(res.status, 422);
        assert.equal(code(res.body), 'VALIDATION_FAILED');
      });
    }
  });

  describe('login', () => {
    it('answers a token pair', async () => {
      const res = await call(base, 'POST', '/api/v1/auth/login', { body: { tenant: admin.tenantSlug, email: admin.email.toUpperCase(), password: PASSWORD } });
      assert.equal(res.status, 200);
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.expires_in, 1800);
      const claims = jwt.decode(String(res.body.access_token), { complete: true })!;
      assert.equal(claims.header.alg, 'HS256');
      const payload = claims.payload as Record<string, unknown>;
      assert.equal(payload.sub, admin.userId);
      assert.equal(payload.tenant_id, admin.tenantId);
      assert.equal(payload.role, 'admin');
      assert.equal(payload.typ, 'access');
      assert.equal(payload.iss, 'moviola');
      assert.equal(payload.aud, 'moviola-api');
      assert.ok(payload.jti && payload.iat && payload.exp);
      assert.ok(String(res.body.refresh_token).length >= 43, 'refresh token carries at least 256 bits');
    });

    it('answers unknown tenant, unknown e-mail and wrong password with the same 401', async () => {
      const attempts = [
        { tenant: uniqueSlug('nobody'), email: admin.email, password: PASSWORD },
        { tenant: admin.tenantSlug, email: 'ghost@nowhere.example', password: PASSWORD },
        { tenant: admin.tenantSlug, email: admin.email, password: 'Wrong-Password-1' },
      ];
      const bodies = [];
      for (const body of attempts) {
        const res = await call(base, 'POST', '/api/v1/auth/login', { body });
        assert.equal(res.status, 401);
        bodies.push(res.body);
      }
      assert.equal(code(bodies[0]!), 'INVALID_CREDENTIALS');
      assert.deepEqual(bodies[1], bodies[0]);
      assert.deepEqual(bodies[2], bodies[0]);
      const failures = await stack.orm.em.fork().count(AuthEvent, { eventType: 'login_failed', userId: admin.userId });
      assert.ok(failures >= 1, 'a failed login is audited');
    });
  });

  describe('refresh', () => {
    it('rotates: a new pair, and the old refresh token is used', async () => {
      const first = await login(base, admin.tenantSlug, admin.email);
      const res = await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: first.refresh } });
      assert.equal(res.status, 200);
      assert.notEqual(res.body.refresh_token, first.refresh);
      const me = await call(base, 'GET', '/api/v1/auth/me', { token: String(res.body.access_token) });
      assert.equal(me.status, 200);
    });

    it('answers a reused token 401 REFRESH_TOKEN_REUSED and kills the family\'s newest token too', async () => {
      const first = await login(base, admin.tenantSlug, admin.email);
      const second = await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: first.refresh } });
      assert.equal(second.status, 200);
      const reuse = await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: first.refresh } });
      assert.equal(reuse.status, 401);
      assert.equal(code(reuse.body), 'REFRESH_TOKEN_REUSED');
      const newest = await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: String(second.body.refresh_token) } });
      assert.equal(newest.status, 401);
      assert.equal(code(newest.body), 'REFRESH_TOKEN_REUSED');
      const detected = await stack.orm.em.fork().count(AuthEvent, { eventType: 'refresh_reuse_detected', userId: admin.userId });
      assert.ok(detected >= 1);
    });

    it('lets exactly one of two concurrent refreshes of one token succeed', async () => {
      for (let round = 0; round < 3; round++) {
        const pair = await login(base, admin.tenantSlug, admin.email);
        const results = await Promise.all([1, 2].map(() => call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: pair.refresh } })));
        assert.deepEqual(results.map((r) => r.status).sort(), [200, 401]);
      }
    });

    it('answers an unknown refresh token 401 INVALID_REFRESH_TOKEN', async () => {
      const res = await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: 'x'.repeat(43) } });
      assert.equal(res.status, 401);
      assert.equal(code(res.body), 'INVALID_REFRESH_TOKEN');
    });
  });

  describe('logout', () => {
    it('logout revokes this session only; logout-all revokes every session', async () => {
      const a = await login(base, admin.tenantSlug, admin.email);
      const b = await login(base, admin.tenantSlug, admin.email);
      assert.equal((await call(base, 'POST', '/api/v1/auth/logout', { token: a.access })).status, 204);
      assert.equal((await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: a.refresh } })).status, 401);
      const bRefreshed = await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: b.refresh } });
      assert.equal(bRefreshed.status, 200);

      const c = await login(base, admin.tenantSlug, admin.email);
      const all = await call(base, 'POST', '/api/v1/auth/logout-all', { token: c.access });
      assert.equal(all.status, 200);
      assert.ok(Number(all.body.revoked) >= 2);
      for (const token of [String(bRefreshed.body.refresh_token), c.refresh]) {
        assert.equal((await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: token } })).status, 401);
      }
    });
  });

  describe('me', () => {
    it('answers the caller', async () => {
      const res = await call(base, 'GET', '/api/v1/auth/me', { token: admin.access });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { id: admin.userId, email: admin.email, name: 'Admin', role: 'admin', tenant_id: admin.tenantId, tenant_slug: admin.tenantSlug, is_superuser: false });
    });

    it('changes the name only; role, tenant_id and is_superuser are refused with 422 and never applied', async () => {
      const renamed = await call(base, 'PATCH', '/api/v1/auth/me', { token: admin.access, body: { name: 'Chief' } });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'Chief');
      for (const body of [{ role: 'viewer' }, { tenant_id: '00000000-0000-4000-8000-000000000000' }, { is_superuser: true }, { name: 'X', role: 'viewer' }]) {
        const res = await call(base, 'PATCH', '/api/v1/auth/me', { token: admin.access, body });
        assert.equal(res.status, 422, JSON.stringify(body));
      }
      const me = await call(base, 'GET', '/api/v1/auth/me', { token: admin.access });
      assert.equal(me.body.role, 'admin');
      assert.equal(me.body.tenant_id, admin.tenantId);
      assert.equal(me.body.is_superuser, false);
      assert.equal(me.body.name, 'Chief');
    });
  });

  describe('change-password', () => {
    it('checks the current password and the policy, then revokes every other session', async () => {
      const user = await registerTenant(base);
      const other = await login(base, user.tenantSlug, user.email);
      const wrong = await call(base, 'POST', '/api/v1/auth/me/change-password', { token: user.access, body: { current_password: 'Nope-Nope-1', new_password: 'Brand-New-Pass-2' } });
      assert.equal(wrong.status, 422);
      assert.equal(code(wrong.body), 'INVALID_CURRENT_PASSWORD');
      const weak = await call(base, 'POST', '/api/v1/auth/me/change-password', { token: user.access, body: { current_password: PASSWORD, new_password: 'weak' } });
      assert.equal(code(weak.body), 'WEAK_PASSWORD');

      const ok = await call(base, 'POST', '/api/v1/auth/me/change-password', { token: user.access, body: { current_password: PASSWORD, new_password: 'Brand-New-Pass-2' } });
      assert.equal(ok.status, 204);
      assert.equal((await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: other.refresh } })).status, 401);
      assert.equal((await call(base, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: user.refresh } })).status, 200);
      assert.equal((await call(base, 'POST', '/api/v1/auth/login', { body: { tenant: user.tenantSlug, email: user.email, password: PASSWORD } })).status, 401);
      await login(base, user.tenantSlug, user.email, 'Brand-New-Pass-2');
    });
  });

  describe('tokens that must be refused', () => {
    const secret = () => stack.config.auth.jwtSecret;
    const claims = () => ({ sub: admin.userId, tenant_id: admin.tenantId, role: 'admin', sid: '00000000-0000-4000-8000-000000000000', typ: 'access' });
    const sign = (payload: object, key: string, options: jwt.SignOptions) => jwt.sign(payload, key, { expiresIn: 600, issuer: 'moviola', audience: 'moviola-api', ...options });
    const cases: Array<[string, () => Record<string, string>]> = [
      ['no Authorization header', () => ({})],
      ['a garbled header', () => ({ authorization: 'Bearer' })],
      ['a non-bearer scheme', () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
      ['a garbled token', () => ({ authorization: 'Bearer not.a.jwt' })],
      ['alg: none', () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        const body = Buffer.from(JSON.stringify({ ...claims(), iss: 'moviola', aud: 'moviola-api', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
        return { authorization: `Bearer ${header}.${body}.` };
      }],
      ['the wrong key', () => ({ authorization: `Bearer ${sign(claims(), 'another-secret-of-sufficient-length-000', { algorithm: 'HS256' })}` })],
      ['the wrong audience', () => ({ authorization: `Bearer ${sign(claims(), secret(), { algorithm: 'HS256', audience: 'someone-else' })}` })],
      ['the wrong issuer', () => ({ authorization: `Bearer ${sign(claims(), secret(), { algorithm: 'HS256', issuer: 'evil' })}` })],
      // Expired 2 minutes ago: beyond the 30 s clock tolerance.
      ['an expired token', () => ({ authorization: `Bearer ${jwt.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 120 }, secret(), { algorithm: 'HS256', issuer: 'moviola', audience: 'moviola-api' })}` })],
      ['HS512 instead of HS256', () => ({ authorization: `Bearer ${sign(claims(), secret(), { algorithm: 'HS512' })}` })],
      ['a token without typ access', () => ({ authorization: `Bearer ${sign({ ...claims(), typ: 'refresh' }, secret(), { algorithm: 'HS256' })}` })],
      ['a refresh token used as access token', () => ({ authorization: `Bearer ${admin.refresh}` })],
    ];
    for (const [name, headers] of cases) {
      it(`answers ${name} 401 UNAUTHENTICATED`, async () => {
        const res = await call(base, 'GET', '/api/v1/auth/me', { headers: headers() });
        assert.equal(res.status, 401);
        assert.equal(code(res.body), 'UNAUTHENTICATED');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      });
    }
  });

  it('stores no raw refresh token: only its SHA-256', async () => {
    const pair = await login(base, admin.tenantSlug, admin.email);
    const url = new URL(stack.config.database.url);
    const { stdout } = await promisify(execFile)('pg_dump', [
      '--data-only', '-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username) || 'postgres', url.pathname.slice(1),
    ], { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) }, maxBuffer: 256 * 1024 * 1024 });
    assert.ok(stdout.includes('refresh_tokens'), 'the dump has the refresh_tokens table');
    assert.equal(stdout.includes(pair.refresh), false, 'the raw refresh token is not in the database');
    assert.equal(stdout.includes(admin.refresh), false);
    const { createHash } = await import('node:crypto');
    assert.ok(stdout.includes(createHash('sha256').update(pair.refresh).digest('hex')), 'its hash is');
  });

  it('sends rate-limit headers on successful responses', async () => {
    const res = await call(base, 'GET', '/api/v1/auth/me', { token: admin.access });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-ratelimit-limit'), '100');
    assert.match(res.headers.get('x-ratelimit-remaining') ?? '', /^\d+$/);
    assert.match(res.headers.get('ratelimit-policy') ?? '', /"user";q=100;w=60/);
    assert.match(res.headers.get('ratelimit') ?? '', /"user";r=\d+;t=\d+/);
  });

  it('allows CORS only for configured origins, never a wildcard', async () => {
    const allowed = await fetch(`${base}/api/v1/auth/me`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /Authorization/i);
    const other = await fetch(`${base}/api/v1/auth/me`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const plain = await fetch(`${base}/health`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(plain.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(plain.headers.get('access-control-allow-credentials'), null);
  });
});
