/**
 * Sessions are refresh-token families. Each refresh uses its token once (an atomic UPDATE, so of
 * two concurrent refreshes exactly one wins) and issues the next token of the family. A token
 * presented again after use, or after revocation, revokes its whole family.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { RefreshToken } from '../../entities/index.ts';
import { hashRefreshToken, newRefreshToken } from '../auth/tokens.ts';
import type { ClientInfo } from './audit.ts';

export interface IssuedRefreshToken {
  token: string;
  familyId: string;
  expiresAt: Date;
}

export async function issueRefreshToken(
  em: EntityManager,
  input: { tenantId: string; userId: string; familyId?: string; parentId?: string | null; ttlDays: number; client: ClientInfo },
): Promise<IssuedRefreshToken> {
  const { token, hash } = newRefreshToken();
  const familyId = input.familyId ?? randomUUID();
  const expiresAt = new Date(Date.now() + input.ttlDays * 86_400_000);
  await em.insert(RefreshToken, {
    id: randomUUID(),
    tenantId: input.tenantId,
    userId: input.userId,
    familyId,
    parentId: input.parentId ?? null,
    tokenHash: hash,
    expiresAt,
    ipAddress: input.client.ip?.slice(0, 64) ?? null,
    userAgent: input.client.userAgent?.slice(0, 512) ?? null,
  });
  return { token, familyId, expiresAt };
}

export type UseResult =
  | { kind: 'ok'; id: string; tenantId: string; userId: string; familyId: string }
  | { kind: 'reused'; tenantId: string; userId: string; familyId: string }
  | { kind: 'expired' }
  | { kind: 'unknown' };

interface TokenRow {
  id: string;
  tenant_id: string;
  user_id: string;
  family_id: string;
  used_at: Date | null;
  revoked_at: Date | null;
  expires_at: Date;
}

/** Marks the token used if it is live; otherwise tells why not (and revokes a reused family). */
export async function useRefreshToken(em: EntityManager, token: string): Promise<UseResult> {
  const hash = hashRefreshToken(token);
  const connection = em.getConnection();
  const claimed = await connection.execute<TokenRow[]>(
    `update refresh_tokens set used_at = now()
      where token_hash = ? and used_at is null and revoked_at is null and expires_at > now()
      returning id, tenant_id, user_id, family_id, used_at, revoked_at, expires_at`,
    [hash],
  );
  const row = claimed[0];
  if (row) return { kind: 'ok', id: row.id, tenantId: row.tenant_id, userId: row.user_id, familyId: row.family_id };

  const [existing] = await connection.execute<TokenRow[]>(
    'select id, tenant_id, user_id, family_id, used_at, revoked_at, expires_at from refresh_tokens where token_hash = ?',
    [hash],
  );
  if (!existing) return { kind: 'unknown' };
  if (existing.used_at || existing.revoked_at) {
    await revokeFamily(em, existing.family_id);
    return { kind: 'reused', tenantId: existing.tenant_id, userId: existing.user_id, familyId: existing.family_id };
  }
  return { kind: 'expired' };
}

export async function revokeFamily(em: EntityManager, familyId: string, userId?: string): Promise<number> {
  return em.nativeUpdate(RefreshToken, { familyId, revokedAt: null, ...(userId ? { userId } : {}) }, { revokedAt: new Date() });
}

/** Revokes every session of the user, except `keepFamilyId` when given. */
export async function revokeUserSessions(em: EntityManager, userId: string, keepFamilyId?: string): Promise<number> {
  return em.nativeUpdate(
    RefreshToken,
    { userId, revokedAt: null, ...(keepFamilyId ? { familyId: { $ne: keepFamilyId } } : {}) },
    { revokedAt: new Date() },
  );
}
