/** One call to a paid AI provider: who, what for, which model, how much (tokens or audio seconds) and what it cost. */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const AiUsage = defineEntity({
  name: 'AiUsage',
  tableName: 'ai_usage',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid().nullable(),
    musicId: p.uuid().nullable(),
    provider: p.string().length(64),
    operation: p.string().length(64),
    model: p.string().length(128),
    status: p.enum(['ok', 'error'] as const),
    httpStatus: p.integer().nullable(),
    inputTokens: p.integer().nullable(),
    outputTokens: p.integer().nullable(),
    audioSeconds: p.double().nullable(),
    costUsd: p.decimal('number').precision(12).scale(6).default(0),
    requestId: p.string().length(128).nullable(),
    error: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IAiUsage = InferEntity<typeof AiUsage>;
