/**
 * ai_usage: one row per call to a paid AI provider that got an HTTP answer (ok or error) — who
 * (tenant, user), what for (music), which model, how much (audio seconds, tokens) and the cost
 * estimate — and the sums GET /api/v1/usage answers.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { AiUsage } from '../../entities/index.ts';
import type { AiConfig } from '../config.ts';

export interface AiUsageRecord {
  tenantId: string;
  userId: string | null;
  musicId: string | null;
  provider: string;
  operation: string;
  model: string;
  status: 'ok' | 'error';
  httpStatus: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  audioSeconds?: number | null;
  costUsd: number;
  requestId?: string | null;
  error?: string | null;
}

/** `openai`, or `openai-compatible:<host>` for another server (so the sums can tell them apart). */
export function providerName(ai: Pick<AiConfig, 'baseUrl'>): string {
  if (!ai.baseUrl) return 'openai';
  let host: string;
  try {
    host = new URL(ai.baseUrl).host;
  } catch {
    host = ai.baseUrl;
  }
  return host === 'api.openai.com' ? 'openai' : `openai-compatible:${host}`.slice(0, 64);
}

/** Cost estimate of `seconds` of transcribed audio, rounded to the column's 6 decimals. */
export function transcriptionCostUsd(seconds: number, usdPerMinute: number): number {
  return Math.round((seconds / 60) * usdPerMinute * 1e6) / 1e6;
}

/** Cost estimate of a chat call from its tokens and per-1,000-token prices, rounded to the column's 6 decimals; unknown counts cost 0. */
export function tokenCostUsd(inputTokens: number | null, outputTokens: number | null, usdPer1kInput: number, usdPer1kOutput: number): number {
  return Math.round((((inputTokens ?? 0) / 1000) * usdPer1kInput + ((outputTokens ?? 0) / 1000) * usdPer1kOutput) * 1e6) / 1e6;
}

export async function recordAiUsage(em: EntityManager, row: AiUsageRecord): Promise<string> {
  const id = randomUUID();
  await em.insert(AiUsage, {
    id,
    tenantId: row.tenantId,
    userId: row.userId,
    musicId: row.musicId,
    provider: row.provider.slice(0, 64),
    operation: row.operation.slice(0, 64),
    model: row.model.slice(0, 128),
    status: row.status,
    httpStatus: row.httpStatus,
    inputTokens: row.inputTokens ?? null,
    outputTokens: row.outputTokens ?? null,
    audioSeconds: row.audioSeconds ?? null,
    costUsd: row.costUsd,
    requestId: row.requestId ? row.requestId.slice(0, 128) : null,
    error: row.error ? row.error.slice(0, 2000) : null,
    createdAt: new Date(),
  });
  return id;
}

export type UsageGroupBy = 'user' | 'music';

export interface UsageSums {
  calls: number;
  ok_calls: number;
  error_calls: number;
  audio_seconds: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface UsageSummary {
  items: Array<{ key: string | null } & UsageSums>;
  total: UsageSums;
}

export interface UsageQuery {
  tenantId: string;
  from: Date;
  to: Date;
  groupBy: UsageGroupBy;
  /** Only this user's calls (callers who may not see the whole tenant). */
  userId?: string;
}

type SumRow = {
  key: string | null;
  is_total: number | string;
  calls: string | number;
  ok_calls: string | number;
  error_calls: string | number;
  audio_seconds: string | number;
  input_tokens: string | number;
  output_tokens: string | number;
  cost_usd: string | number;
};

const ZERO: UsageSums = { calls: 0, ok_calls: 0, error_calls: 0, audio_seconds: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };

function sums(row: SumRow): UsageSums {
  return {
    calls: Number(row.calls),
    ok_calls: Number(row.ok_calls),
    error_calls: Number(row.error_calls),
    audio_seconds: Math.round(Number(row.audio_seconds) * 1000) / 1000,
    input_tokens: Number(row.input_tokens),
    output_tokens: Number(row.output_tokens),
    cost_usd: Math.round(Number(row.cost_usd) * 1e6) / 1e6,
  };
}

/**
 * Sums of the tenant's calls in [from, to), per user or per music (key null: calls made for no
 * user / no music), most expensive first; and the total, computed by PostgreSQL in the same pass
 * (GROUPING SETS) so it is exact.
 */
export async function summarizeAiUsage(em: EntityManager, query: UsageQuery): Promise<UsageSummary> {
  const column = query.groupBy === 'user' ? 'user_id' : 'music_id';
  const params: unknown[] = [query.tenantId, query.from, query.to];
  if (query.userId) params.push(query.userId);
  const rows: SumRow[] = await em.getConnection().execute(
    `select ${column}::text as key,
            grouping(${column}) as is_total,
            count(*) as calls,
            count(*) filter (where status = 'ok') as ok_calls,
            count(*) filter (where status = 'error') as error_calls,
            coalesce(sum(audio_seconds), 0) as audio_seconds,
            coalesce(sum(input_tokens), 0) as input_tokens,
            coalesce(sum(output_tokens), 0) as output_tokens,
            coalesce(sum(cost_usd), 0) as cost_usd
       from ai_usage
      where tenant_id = ? and created_at >= ? and created_at < ?${query.userId ? ' and user_id = ?' : ''}
      group by grouping sets ((${column}), ())
      order by grouping(${column}), sum(cost_usd) desc, count(*) desc, ${column} nulls last`,
    params,
  );
  const total = rows.find((r) => Number(r.is_total) === 1);
  return {
    items: rows.filter((r) => Number(r.is_total) !== 1).map((r) => ({ key: r.key, ...sums(r) })),
    total: total ? sums(total) : { ...ZERO },
  };
}
