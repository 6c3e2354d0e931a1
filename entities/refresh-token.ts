import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** Only the SHA-256 of a refresh token is stored, never the token. */
export const RefreshToken = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid(),
    familyId: p.uuid(),
    parentId: p.uuid().nullable(),
    tokenHash: p.string().length(64).unique(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    ipAddress: p.string().length(64).nullable(),
    userAgent: p.string().length(512).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export type IRefreshToken = InferEntity<typeof RefreshToken>;
