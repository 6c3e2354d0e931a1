/**
 * transcribeMusic (task queue `moviola-ai`): Whisper through the `openai` client, against OpenAI or
 * any OpenAI-compatible server (config.ai). One provider call per attempt — the client itself never
 * retries; Temporal does, paced by the AI worker's `maxTaskQueueActivitiesPerSecond`.
 *
 * - The (small, speech-ready) audio object is downloaded to a per-attempt temp dir, always removed.
 * - Request: `verbose_json` with segment timestamps; `language` only when config says one (not `auto`).
 * - Every call that got an HTTP answer — ok or not — is one `ai_usage` row (tenant, user, music,
 *   model, status, HTTP status, audio seconds, cost estimate for ok calls, provider request id).
 *   A call that never got an answer (timeout, connection refused) costs nothing and is not recorded.
 * - Failures are ApplicationFailures typed by lib/ai/provider-errors.ts: 429/5xx/timeouts retryable,
 *   with the provider's Retry-After as `nextRetryDelay`; invalid answers retried a few attempts;
 *   4xx refusals not retried. Without a provider: non-retryable PROVIDER_UNAVAILABLE.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { APIConnectionTimeoutError } from 'openai';
import { createOpenAiClient, providerConfigured } from '../../lib/ai/openai-provider.ts';
import { classifyProviderError, providerApplicationFailure, providerUnavailableFailure, type ProviderFailure } from '../../lib/ai/provider-errors.ts';
import { parseVerboseTranscription, transcriptionUsage, type Transcription } from '../../lib/ai/transcription-response.ts';
import { providerName, recordAiUsage, transcriptionCostUsd, type AiUsageRecord } from '../../lib/ai/usage.ts';
import type { AiConfig } from '../../lib/config.ts';
import type { Orm } from '../../lib/db/orm.ts';
import type { Logger } from '../../lib/logger.ts';
import { ObjectNotFoundError, type BucketName, type StorageDriver } from '../../lib/storage/index.ts';

export type { Transcription, TranscriptSegment } from '../../lib/ai/transcription-response.ts';

export interface TranscriptionDeps {
  orm: Orm;
  storage: StorageDriver;
  ai: AiConfig;
  logger: Logger;
  /** Where per-attempt temp dirs are made (default: the OS temp dir). */
  workDir?: string;
}

export interface TranscribeMusicInput {
  tenantId: string;
  /** Who asked (for usage accounting); null for system work. */
  userId: string | null;
  musicId: string;
  bucket: BucketName;
  storageKey: string;
  /** The audio's duration (ffprobe): usage seconds, cost estimate, and the bound of segment times. */
  durationMs: number;
  /** The original file name: its extension tells the provider the audio format. */
  filename: string;
}

/** Transcription is possible at all (an API key is configured); else the analysis reports it `unavailable`. */
export function transcriptionAvailable(ai: Pick<AiConfig, 'apiKey'>): boolean {
  return providerConfigured(ai);
}

const OPERATION = 'transcription';
const HEARTBEAT_MS = 10_000;
/** Extensions Whisper reads; any other file is sent as `audio` (no extension) and the server sniffs it. */
const AUDIO_TYPES: Record<string, string> = {
  '.flac': 'audio/flac', '.m4a': 'audio/mp4', '.mp3': 'audio/mpeg', '.mp4': 'audio/mp4', '.mpeg': 'audio/mpeg',
  '.mpga': 'audio/mpeg', '.oga': 'audio/ogg', '.ogg': 'audio/ogg', '.wav': 'audio/wav', '.webm': 'audio/webm',
};

/** The part's file name (never the user's: only its extension) and content type. */
function uploadPart(filename: string): { name: string; type: string } {
  const ext = extname(filename).toLowerCase();
  const type = AUDIO_TYPES[ext];
  return type ? { name: `audio${ext}`, type } : { name: 'audio', type: 'application/octet-stream' };
}

export function createTranscriptionActivities(deps: TranscriptionDeps) {
  const client = createOpenAiClient(deps.ai, { logger: deps.logger.child({ component: 'openai' }) });
  const provider = providerName(deps.ai);
  const model = deps.ai.transcriptionModel;

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

  return {
    async transcribeMusic(input: TranscribeMusicInput): Promise<Transcription> {
      if (!client) throw providerUnavailableFailure();
      const ctx = Context.current();
      const log = deps.logger.child({ tenantId: input.tenantId, musicId: input.musicId, workflowId: ctx.info.workflowExecution?.workflowId, attempt: ctx.info.attempt });
      const audioSeconds = Math.max(0, input.durationMs) / 1000;
      const usage = { tenantId: input.tenantId, userId: input.userId, musicId: input.musicId, provider, operation: OPERATION, model };

      const dir = await mkdtemp(join(deps.workDir ?? tmpdir(), 'moviola-transcribe-'));
      const beat = setInterval(() => ctx.heartbeat({ stage: 'transcribing' }), HEARTBEAT_MS);
      try {
        const part = uploadPart(input.filename);
        const path = join(dir, part.name);
        try {
          await deps.storage.getToFile(input.bucket, input.storageKey, path);
        } catch (err) {
          if (err instanceof ObjectNotFoundError) {
            throw ApplicationFailure.nonRetryable(`The audio object ${input.storageKey} is missing`, 'AUDIO_MISSING');
          }
          throw err;
        }
        ctx.heartbeat({ stage: 'downloaded' });

        // Our own deadline also bounds reading the body (the client's timeout stops at the headers).
        const deadline = AbortSignal.timeout(deps.ai.timeoutMs);
        const signal = AbortSignal.any([ctx.cancellationSignal, deadline]);
        const language = deps.ai.transcriptionLanguage === 'auto' ? undefined : deps.ai.transcriptionLanguage;
        const call = client.audio.transcriptions.create(
          {
            // A file-backed Blob: the audio is streamed from disk, not read into memory.
            file: new File([await openAsBlob(path)], part.name, { type: part.type }),
            model,
            response_format: 'verbose_json',
            timestamp_granularities: ['segment'],
            ...(language ? { language } : {}),
          },
          { signal },
        );

        // 1. The call: an answer (parsed) or a classified failure. Nothing else happens in this try.
        let response: Response | null = null;
        let answer: { data: unknown; transcription: Transcription } | null = null;
        let failure: ProviderFailure | null = null;
        let thrown: unknown = null;
        try {
          response = await call.asResponse();
          const data: unknown = await call;
          answer = { data, transcription: parseVerboseTranscription(data, input.durationMs) };
        } catch (err) {
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
          thrown = err;
          const cause = deadline.aborted && !(err instanceof APIConnectionTimeoutError)
            ? new APIConnectionTimeoutError({ message: `no answer within ${deps.ai.timeoutMs} ms` })
            : err;
          failure = classifyProviderError(cause, {
            attempt: ctx.info.attempt,
            response: response ? { status: response.status, headers: response.headers } : null,
          });
        }

        // 2. Accounting: every call that got an HTTP answer, ok or not.
        if (answer && response) {
          const billed = transcriptionUsage(answer.data);
          const seconds = billed.audioSeconds ?? audioSeconds;
          const requestId = response.headers.get('x-request-id');
          await record({
            ...usage,
            status: 'ok',
            httpStatus: response.status,
            audioSeconds: seconds,
            inputTokens: billed.inputTokens,
            outputTokens: billed.outputTokens,
            costUsd: transcriptionCostUsd(seconds, deps.ai.transcriptionUsdPerMinute),
            requestId,
          });
          log.info({ segments: answer.transcription.segments.length, language: answer.transcription.language, requestId }, 'transcribed');
          return answer.transcription;
        }
        failure ??= classifyProviderError(thrown);
        if (failure.httpStatus !== null) {
          await record({
            ...usage,
            status: 'error',
            httpStatus: failure.httpStatus,
            audioSeconds,
            costUsd: 0,
            requestId: failure.requestId,
            error: `${failure.type}: ${failure.message}`,
          });
        }
        log.warn(
          { type: failure.type, httpStatus: failure.httpStatus, retryable: failure.retryable, retryAfterMs: failure.retryAfterMs, requestId: failure.requestId },
          `transcription failed: ${failure.message}`,
        );
        throw providerApplicationFailure(failure, thrown);
      } finally {
        clearInterval(beat);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type TranscriptionActivities = ReturnType<typeof createTranscriptionActivities>;
