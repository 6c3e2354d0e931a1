import type { Context } from 'koa';
import type { ClientInfo } from '../../lib/accounts/audit.ts';

/** The caller's IP (X-Forwarded-For only with TRUST_PROXY) and user agent, for audit and limits. */
export function clientInfo(ctx: Context): ClientInfo {
  return { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
}
