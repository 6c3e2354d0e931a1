/**
 * Feedback interpretation (issue 9): what a stored feedback text means for the weights, made
 * ONCE per feedback and stored on its row (`music_feedback` / `artist_feedback`.interpretation),
 * so the music's and the artist's centers apply the same deltas and one AI call serves both.
 *
 * - interpretFeedbackWithLexicon (main queue): lib/learning/lexicon.ts, deterministic.
 * - interpretFeedbackWithAi (AI queue `moviola-ai`, rate limited): lib/learning/ai-interpretation.ts
 *   through the `openai` client (maxRetries 0: Temporal retries). Every call that got an HTTP answer
 *   — ok, refused or unusable — is one `ai_usage` row (operation `interpret-feedback`, the feedback's
 *   author, the music for music feedback, tokens, cost from OPENAI_FEEDBACK_USD_PER_1K_*_TOKENS).
 *   Failures: 429/5xx/timeouts retryable (Retry-After → nextRetryDelay); 401/403 PROVIDER_AUTH,
 *   an unusable answer INVALID_RESPONSE, other 4xx PROVIDER_REJECTED, no API key
 *   PROVIDER_UNAVAILABLE — all non-retryable.
 *
 * Both: the row is read tenant-scoped (absent → non-retryable FEEDBACK_MISSING); a stored
 * interpretation is returned as it is (whichever source made it); else the new one is written with
 * `… where interpretation is null` and the row re-read, so concurrent or retried calls all return
 * the one that was stored first.
 *
 * confirmMusicGenre (main queue): a feedback confirmed the track's genre ("é um samba") → the
 * track's analysed feature vector (its `music_embeddings` row, the vector genre inference compares
 * with `global_genre_profiles`) joins that genre's profile as one more sample (Welford running mean
 * and population variance, lib/audio/genre.ts `updateProfile`; sample_count + 1; source
 * 'feedback'), or starts a new profile for a new genre. The profile is found by a folded key
 * ("forro" is the reference "forró", "hip hop" is "hip-hop"). Idempotent per feedback: in the same
 * transaction the feedback row's interpretation gets `genreApplied` ({ genre, profileUpdated, at }),
 * and a row that has it is not applied again. Nothing is applied (updated: false, still marked) when
 * the track has no analysis, is digital silence (no genre is inferred for it either), or its
 * analyzer version / dimension differs from the profile's. When the track has no declared genre,
 * the confirmed one becomes its `declared_genre` (a user said so; a declared genre is never
 * overwritten).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { APIConnectionTimeoutError } from 'openai';
import { createOpenAiClient } from '../../lib/ai/openai-provider.ts';
import { providerName, recordAiUsage, tokenCostUsd, type AiUsageRecord } from '../../lib/ai/usage.ts';
import type { GenreProfile } from '../../lib/audio/analysis.ts';
import { normalizeGenre, updateProfile } from '../../lib/audio/genre.ts';
import { providerApplicationFailure, providerUnavailableFailure } from '../../lib/ai/provider-errors.ts';
import type { Config } from '../../lib/config.ts';
import type { Orm } from '../../lib/db/orm.ts';
import {
  classifyFeedbackError,
  parseInterpretationAnswer,
  requestFeedbackInterpretation,
  chatUsage,
  type ChatUsage,
  type FeedbackFailure,
} from '../../lib/learning/ai-interpretation.ts';
import type { FeedbackInterpretation, FeedbackRef } from '../../lib/learning/contract.ts';
import { SUBSCORES } from '../../lib/clips/contract.ts';
import { foldText, interpretWithLexicon, normalizeConfirmedGenre } from '../../lib/learning/lexicon.ts';
import type { Logger } from '../../lib/logger.ts';

export interface InterpretFeedbackDeps {
  orm: Orm;
  ai: Config['ai'];
  logger: Logger;
}

export interface ConfirmMusicGenreInput {
  tenantId: string;
  musicId: string;
  genre: string;
  feedbackId: string;
}

const OPERATION = 'interpret-feedback';

interface FeedbackRow {
  id: string;
  text: string;
  rating: number | null;
  musicId: string | null;
  createdBy: string;
  interpretation: unknown;
}

const TABLES = { music: 'music_feedback', artist: 'artist_feedback' } as const;

function tableOf(kind: unknown): (typeof TABLES)[keyof typeof TABLES] {
  if (kind !== 'music' && kind !== 'artist') throw ApplicationFailure.nonRetryable(`Unknown feedback kind ${JSON.stringify(kind)}`, 'INVALID_FEEDBACK_REF');
  return TABLES[kind];
}

const asJson = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);

/**
 * A stored interpretation in the contract's shape (extra keys such as `genreApplied` dropped);
 * null when the value is not one (never written, or not an interpretation).
 */
export function storedInterpretation(value: unknown): FeedbackInterpretation | null {
  const v = asJson(value);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  if ((r.source !== 'ai' && r.source !== 'lexicon') || !Array.isArray(r.deltas) || typeof r.summary !== 'string') return null;
  const deltas = r.deltas.flatMap((d: unknown) => {
    if (typeof d !== 'object' || d === null) return [];
    const x = d as Record<string, unknown>;
    if (!(SUBSCORES as readonly string[]).includes(String(x.subscore)) || typeof x.delta !== 'number' || !Number.isFinite(x.delta)) return [];
    return [{ subscore: x.subscore as FeedbackInterpretation['deltas'][number]['subscore'], delta: x.delta, reason: typeof x.reason === 'string' ? x.reason : '' }];
  });
  return { source: r.source, deltas, confirmedGenre: typeof r.confirmedGenre === 'string' ? r.confirmedGenre : null, summary: r.summary };
}

/** The key profiles are matched by: folded, letters, digits and `&` only ("Forró" → "forro", "hip hop" → "hiphop"). */
export function genreKey(genre: string): string {
  return foldText(genre).replace(/[^a-z0-9&]/g, '');
}

export function createInterpretFeedbackActivities(deps: InterpretFeedbackDeps) {
  const client = createOpenAiClient(deps.ai, { logger: deps.logger.child({ component: 'openai' }) });
  const provider = providerName(deps.ai);
  const model = deps.ai.feedbackModel;

  async function loadFeedback(ref: FeedbackRef): Promise<FeedbackRow> {
    const table = tableOf(ref.kind);
    const rows = (await deps.orm.em.fork().getConnection().execute(
      `select id, text, rating, ${ref.kind === 'music' ? 'music_id' : 'null::uuid as music_id'}, created_by, interpretation
         from ${table} where id = ? and tenant_id = ?`,
      [ref.feedbackId, ref.tenantId],
    )) as Array<{ id: string; text: string; rating: number | null; music_id: string | null; created_by: string; interpretation: unknown }>;
    const row = rows[0];
    if (!row) throw ApplicationFailure.nonRetryable(`The ${ref.kind} feedback ${ref.feedbackId} does not exist in the tenant`, 'FEEDBACK_MISSING');
    return { id: row.id, text: row.text, rating: row.rating === null ? null : Number(row.rating), musicId: row.music_id, createdBy: row.created_by, interpretation: row.interpretation };
  }

  /** Stores `interpretation` unless one is stored already; returns the stored one. */
  async function store(ref: FeedbackRef, interpretation: FeedbackInterpretation): Promise<FeedbackInterpretation> {
    const table = tableOf(ref.kind);
    const connection = deps.orm.em.fork().getConnection();
    await connection.execute(
      `update ${table} set interpretation = ?::jsonb where id = ? and tenant_id = ? and interpretation is null`,
      [JSON.stringify(interpretation), ref.feedbackId, ref.tenantId],
    );
    const stored = storedInterpretation((await loadFeedback(ref)).interpretation);
    if (!stored) throw ApplicationFailure.nonRetryable(`The ${ref.kind} feedback ${ref.feedbackId} holds an interpretation of an unknown shape`, 'INVALID_STORED_INTERPRETATION');
    return stored;
  }

  /** Records one answered call; a failure to record is retried briefly, then surfaces (the activity is retried). */
  async function record(row: AiUsageRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await recordAiUsage(deps.orm.em.fork(), row);
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }

  const cost = (usage: ChatUsage) => tokenCostUsd(usage.inputTokens, usage.outputTokens, deps.ai.feedbackUsdPer1kInputTokens, deps.ai.feedbackUsdPer1kOutputTokens);

  return {
    async interpretFeedbackWithLexicon(ref: FeedbackRef): Promise<FeedbackInterpretation> {
      const row = await loadFeedback(ref);
      const existing = storedInterpretation(row.interpretation);
      if (existing) return existing;
      return store(ref, interpretWithLexicon(row.text));
    },

    async interpretFeedbackWithAi(ref: FeedbackRef): Promise<FeedbackInterpretation> {
      const row = await loadFeedback(ref);
      const existing = storedInterpretation(row.interpretation);
      if (existing) return existing;
      if (!client) throw providerUnavailableFailure('interpret the feedback with the lexicon');

      const ctx = Context.current();
      const log = deps.logger.child({ tenantId: ref.tenantId, feedbackId: ref.feedbackId, workflowId: ctx.info.workflowExecution?.workflowId, attempt: ctx.info.attempt });
      const usage = { tenantId: ref.tenantId, userId: row.createdBy, musicId: row.musicId, provider, operation: OPERATION, model };
      // Our own deadline also bounds reading the body (the client's timeout stops at the headers).
      const deadline = AbortSignal.timeout(deps.ai.timeoutMs);
      const signal = AbortSignal.any([ctx.cancellationSignal, deadline]);
      const call = requestFeedbackInterpretation(client, { model, kind: ref.kind, text: row.text, rating: row.rating, signal });

      // 1. The call: an answer (validated) or a classified failure.
      let response: Response | null = null;
      let data: unknown = undefined;
      let answer: FeedbackInterpretation | null = null;
      let failure: FeedbackFailure | null = null;
      let thrown: unknown = null;
      try {
        response = await call.asResponse();
        data = await call;
        answer = parseInterpretationAnswer(data).interpretation;
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
        thrown = err;
        const cause = deadline.aborted && !(err instanceof APIConnectionTimeoutError)
          ? new APIConnectionTimeoutError({ message: `no answer within ${deps.ai.timeoutMs} ms` })
          : err;
        failure = classifyFeedbackError(cause, {
          attempt: ctx.info.attempt,
          response: response ? { status: response.status, headers: response.headers } : null,
        });
      }

      // 2. Accounting: every call that got an HTTP answer, ok or not (an unusable answer still used tokens).
      const tokens: ChatUsage = chatUsage(data);
      if (answer && response) {
        const requestId = response.headers.get('x-request-id');
        await record({ ...usage, status: 'ok', httpStatus: response.status, ...tokens, costUsd: cost(tokens), requestId });
        log.info({ deltas: answer.deltas.length, confirmedGenre: answer.confirmedGenre, requestId }, 'feedback interpreted');
        return store(ref, answer);
      }
      failure ??= classifyFeedbackError(thrown);
      if (failure.httpStatus !== null) {
        await record({
          ...usage, status: 'error', httpStatus: failure.httpStatus, ...tokens, costUsd: cost(tokens),
          requestId: failure.requestId, error: `${failure.type}: ${failure.message}`,
        });
      }
      log.warn(
        { type: failure.type, httpStatus: failure.httpStatus, retryable: failure.retryable, retryAfterMs: failure.retryAfterMs, requestId: failure.requestId },
        `feedback interpretation failed: ${failure.message}`,
      );
      throw providerApplicationFailure(failure, thrown);
    },

    async confirmMusicGenre(input: ConfirmMusicGenreInput): Promise<{ updated: boolean }> {
      const genre = normalizeConfirmedGenre(input.genre);
      if (!genre) throw ApplicationFailure.nonRetryable(`${JSON.stringify(input.genre)} is not a genre`, 'INVALID_GENRE');
      return deps.orm.em.fork().transactional(async (tx) => {
        const connection = tx.getConnection();
        const ctx = tx.getTransactionContext();
        const run = <T>(sql: string, params: unknown[]) => connection.execute(sql, params, 'all', ctx) as Promise<T[]>;

        const feedback = (await run<{ interpretation: unknown }>(
          'select interpretation from music_feedback where id = ? and tenant_id = ? and music_id = ? for update',
          [input.feedbackId, input.tenantId, input.musicId],
        ))[0];
        if (!feedback) throw ApplicationFailure.nonRetryable(`The music feedback ${input.feedbackId} does not exist for that music in the tenant`, 'FEEDBACK_MISSING');
        const interpretation = asJson(feedback.interpretation) as Record<string, unknown> | null;
        if (interpretation === null) {
          throw ApplicationFailure.nonRetryable(`The music feedback ${input.feedbackId} has not been interpreted yet`, 'FEEDBACK_NOT_INTERPRETED');
        }
        if (interpretation.genreApplied) return { updated: false };

        const music = (await run<{ declared_genre: string | null; analyzer_version: string | null; loudness_lufs: number | null; embedding: number[] | null }>(
          `select m.declared_genre, a.analyzer_version, a.loudness_lufs, e.embedding
             from music_assets m
             left join music_analysis a on a.id = m.analysis_id and a.tenant_id = m.tenant_id
             left join music_embeddings e on e.analysis_id = a.id
            where m.id = ? and m.tenant_id = ?`,
          [input.musicId, input.tenantId],
        ))[0];

        // The profile of that genre (matched by folded key), locked; its stored name is the canonical one.
        const names = await run<{ genre: string }>('select genre from global_genre_profiles', []);
        const key = genreKey(genre);
        const matched = names.map((r) => r.genre).filter((g) => genreKey(g) === key).sort()[0] ?? null;
        const profileGenre = matched ?? genre;

        const vector = music?.embedding?.map(Number) ?? null;
        const { updated, reason } = !music ? { updated: false, reason: 'music missing' }
          : !vector || vector.length === 0 || !music.analyzer_version ? { updated: false, reason: 'music not analysed' }
          : music.loudness_lufs === null ? { updated: false, reason: 'digital silence' }
          : await addSample(run, { genre: profileGenre, exists: matched !== null, analyzerVersion: music.analyzer_version, vector });

        if (music && music.declared_genre === null) {
          await run('update music_assets set declared_genre = ?, updated_at = now() where id = ? and tenant_id = ? and declared_genre is null',
            [normalizeGenre(profileGenre), input.musicId, input.tenantId]);
        }
        const applied = { genre: profileGenre, profileUpdated: updated, reason, at: new Date().toISOString() };
        await run(`update music_feedback set interpretation = jsonb_set(interpretation, '{genreApplied}', ?::jsonb) where id = ? and tenant_id = ?`,
          [JSON.stringify(applied), input.feedbackId, input.tenantId]);
        deps.logger.info({ tenantId: input.tenantId, musicId: input.musicId, feedbackId: input.feedbackId, ...applied }, 'genre confirmation applied');
        return { updated };
      });
    },
  };
}

type Run = <T>(sql: string, params: unknown[]) => Promise<T[]>;
type ProfileRow = { analyzer_version: string; feature_mean: number[]; feature_variance: number[]; sample_count: number };

/** One more sample in the genre's profile (created with it as the first sample when new), inside the caller's transaction. */
async function addSample(run: Run, s: { genre: string; exists: boolean; analyzerVersion: string; vector: number[] }): Promise<{ updated: boolean; reason: string | null }> {
  const lock = async () => (await run<ProfileRow>(
    'select analyzer_version, feature_mean, feature_variance, sample_count from global_genre_profiles where genre = ? for update',
    [s.genre],
  ))[0];
  let row = s.exists ? await lock() : undefined;
  if (!row) {
    const created = await run<{ genre: string }>(
      `insert into global_genre_profiles (genre, analyzer_version, feature_mean, feature_variance, sample_count, source, updated_at)
       values (?, ?, ?::double precision[], ?::double precision[], 1, 'feedback', now())
       on conflict (genre) do nothing returning genre`,
      [s.genre, s.analyzerVersion, doubles(s.vector), doubles(s.vector.map(() => 0))],
    );
    if (created.length > 0) return { updated: true, reason: null };
    // Created by a concurrent confirmation (committed: the insert waited for it): add to that one.
    row = await lock();
    if (!row) throw new Error(`the genre profile ${s.genre} can be neither created nor read`);
  }
  if (row.analyzer_version !== s.analyzerVersion || row.feature_mean.length !== s.vector.length) {
    return { updated: false, reason: `profile of ${row.analyzer_version} (${row.feature_mean.length} features), music of ${s.analyzerVersion} (${s.vector.length})` };
  }
  const profile: GenreProfile = { genre: s.genre, mean: row.feature_mean.map(Number), variance: row.feature_variance.map(Number), sampleCount: Number(row.sample_count) };
  const next = updateProfile(profile, s.vector);
  await run(
    `update global_genre_profiles set feature_mean = ?::double precision[], feature_variance = ?::double precision[], sample_count = ?,
       source = 'feedback', updated_at = now() where genre = ?`,
    [doubles(next.mean), doubles(next.variance), next.sampleCount, s.genre],
  );
  return { updated: true, reason: null };
}

const doubles = (values: number[]) => `{${values.map((v) => (Number.isFinite(v) ? v : 0)).join(',')}}`;

export type InterpretFeedbackActivities = ReturnType<typeof createInterpretFeedbackActivities>;
