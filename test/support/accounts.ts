/** Accounts for tests, made through the real API. */
import { randomBytes } from 'node:crypto';

export const PASSWORD = 'Correct-Horse-9';

export interface Session {
  tenantSlug: string;
  tenantId: string;
  userId: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
}

export function uniqueSlug(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

async function json(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function call(baseUrl: string, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  return { status: res.status, headers: res.headers, body: await json(res) };
}

export async function login(baseUrl: string, tenant: string, email: string, password = PASSWORD) {
  const res = await call(baseUrl, 'POST', '/api/v1/auth/login', { body: { tenant, email, password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { access: String(res.body.access_token), refresh: String(res.body.refresh_token) };
}

/** A new tenant with its admin, logged in. */
export async function registerTenant(baseUrl: string, slug = uniqueSlug()): Promise<Session> {
  const email = `admin@${slug}.example`;
  const res = await call(baseUrl, 'POST', '/api/v1/auth/register', { body: { tenant: slug, email, password: PASSWORD, name: 'Admin' } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  const tokens = await login(baseUrl, slug, email);
  return {
    tenantSlug: slug,
    tenantId: String((res.body.tenant as { id: string }).id),
    userId: String((res.body.user as { id: string }).id),
    email,
    password: PASSWORD,
    ...tokens,
  };
}

/** A user of `admin`'s tenant with the given role, logged in. */
export async function createUser(baseUrl: string, admin: Session, role: string): Promise<Session> {
  const email = `${role}-${randomBytes(3).toString('hex')}@${admin.tenantSlug}.example`;
  const res = await call(baseUrl, 'POST', '/api/v1/users', { token: admin.access, body: { email, password: PASSWORD, name: role, role } });
  if (res.status !== 201) throw new Error(`create user failed: ${res.status} ${JSON.stringify(res.body)}`);
  const tokens = await login(baseUrl, admin.tenantSlug, email);
  return { tenantSlug: admin.tenantSlug, tenantId: admin.tenantId, userId: String(res.body.id), email, password: PASSWORD, ...tokens };
}
