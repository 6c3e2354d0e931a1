/**
 * Every setting Moviola reads comes from the environment and is validated here, once, at start-up.
 * `.env.example` documents each variable; `test/unit/compose.test.ts` checks docker-compose.yml
 * against ENV_VARIABLES below.
 */
import { z } from 'zod';
import type { Weights } from './clips/contract.ts';
import { loadBaselineWeights, WeightsError } from './clips/weights.ts';

/** Development defaults that production must override. */
export const DEV_SECRETS = {
  S3_ACCESS_KEY: 'moviola',
  S3_SECRET_KEY: 'moviola-dev-secret',
  STORAGE_SIGNING_SECRET: 'moviola-dev-signing-secret-change-me-0000',
  JWT_SECRET: 'moviola-dev-jwt-secret-change-me-0000000000',
} as const;

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  API_HOST: z.string().min(1).default('0.0.0.0'),
  API_PORT: port.default(3000),
  PUBLIC_URL: z.url().default('http://localhost:3000'),
  JSON_BODY_LIMIT_KB: positiveInt.default(256),
  MAX_UPLOAD_MB: positiveInt.default(500),
  SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  TRUST_PROXY: bool.default(false),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/moviola'),
  DATABASE_POOL_MAX: positiveInt.default(10),

  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('moviola'),
  TEMPORAL_HEAVY_TASK_QUEUE: z.string().min(1).default('moviola-heavy'),
  WORKER_METRICS_ADDRESS: z
    .string()
    .regex(/^([^\s:]+:\d+)?$/, 'must be host:port or empty')
    .default(''),
  WORKER_SHUTDOWN_GRACE_MS: positiveInt.default(30_000),
  WORKFLOW_BUNDLE_PATH: z.string().default(''),

  STORAGE_DRIVER: z.enum(['s3', 'fs']).default('s3'),
  STORAGE_BUCKET_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'lower-case letters, digits and dashes')
    .default('moviola'),
  STORAGE_FS_ROOT: z.string().min(1).default('.data/storage'),
  STORAGE_SIGNING_SECRET: z.string().min(32, 'at least 32 characters').default(DEV_SECRETS.STORAGE_SIGNING_SECRET),
  S3_ENDPOINT: z.url().default('http://127.0.0.1:8333'),
  S3_PUBLIC_ENDPOINT: z.union([z.url(), z.literal('')]).default(''),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY: z.string().min(1).default(DEV_SECRETS.S3_ACCESS_KEY),
  S3_SECRET_KEY: z.string().min(8).default(DEV_SECRETS.S3_SECRET_KEY),

  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  FFPROBE_PATH: z.string().min(1).default('ffprobe'),
  FFPROBE_TIMEOUT_MS: positiveInt.default(30_000),

  DOCS_ENABLED: bool.default(true),
  MAX_VIDEO_SIZE_MB: positiveInt.default(500),
  VIDEO_RETENTION_DAYS: positiveInt.max(3650).default(7),
  FRAMES_TIMEOUT_MINUTES: positiveInt.default(30),

  ASSET_MAX_UPLOAD_MB: positiveInt.default(2048),
  ASSET_MAX_DIRECT_UPLOAD_MB: positiveInt.default(20_480),
  ASSET_UPLOAD_EXPIRY_HOURS: positiveInt.max(168).default(24),
  ASSET_MAX_IMAGE_PIXELS: positiveInt.default(100_000_000),
  ASSET_MAX_DURATION_MINUTES: positiveInt.default(240),
  ASSET_RETENTION_DAYS: positiveInt.max(3650).default(30),
  ASSET_INGEST_TIMEOUT_MINUTES: positiveInt.default(60),
  ASSET_URL_TTL_SECONDS: positiveInt.max(604_800).default(3600),

  MUSIC_MAX_UPLOAD_MB: positiveInt.default(200),
  MUSIC_MAX_DURATION_MINUTES: positiveInt.max(120).default(20),

  CLIP_MAX_UPLOAD_MB: positiveInt.default(2048),
  CLIP_MAX_DURATION_MINUTES: positiveInt.max(240).default(60),
  CLIP_WEIGHTS_JSON: z.string().default(''),
  CLIP_INTERMEDIATE_RETENTION_HOURS: z.coerce.number().positive().max(24 * 90).default(24),
  RATE_LIMIT_CLIP_JOBS_PER_USER_PER_MINUTE: positiveInt.default(10),

  OPENAI_API_KEY: z.string().default(''),
  OPENAI_BASE_URL: z.union([z.url(), z.literal('')]).default(''),
  OPENAI_TRANSCRIPTION_MODEL: z.string().min(1).default('whisper-1'),
  TRANSCRIPTION_LANGUAGE: z.string().regex(/^(auto|[a-z]{2})$/, 'auto or an ISO-639-1 code such as pt').default('auto'),
  OPENAI_TIMEOUT_MS: positiveInt.default(120_000),
  OPENAI_TRANSCRIPTION_USD_PER_MINUTE: z.coerce.number().min(0).default(0.006),
  OPENAI_FEEDBACK_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OPENAI_FEEDBACK_USD_PER_1K_INPUT_TOKENS: z.coerce.number().min(0).default(0.00015),
  OPENAI_FEEDBACK_USD_PER_1K_OUTPUT_TOKENS: z.coerce.number().min(0).default(0.0006),
  AI_TASK_QUEUE: z.string().min(1).default('moviola-ai'),
  AI_MAX_ACTIVITIES_PER_SECOND: z.coerce.number().positive().default(1),

  SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  SMTP_PORT: port.default(1025),
  SMTP_SECURE: bool.default(false),
  SMTP_USER: z.string().default(''),
  SMTP_PASSWORD: z.string().default(''),
  SMTP_FROM: z.string().min(3).default('Moviola <no-reply@moviola.local>'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .refine((v) => v.split(',').map((o) => o.trim()).filter(Boolean).every((o) => /^https?:\/\/[^/*\s]+$/.test(o)), 'comma-separated origins like https://app.example.com (no wildcard, no path)'),

  JWT_SECRET: z.string().min(32, 'at least 32 characters').default(DEV_SECRETS.JWT_SECRET),
  JWT_ISSUER: z.string().min(1).default('moviola'),
  JWT_AUDIENCE: z.string().min(1).default('moviola-api'),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt.max(86_400).default(1800),
  REFRESH_TOKEN_TTL_DAYS: positiveInt.max(365).default(7),

  REDIS_URL: z.union([z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'), z.literal('')]).default(''),
  RATE_LIMIT_ENABLED: bool.default(true),
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: positiveInt.default(5),
  RATE_LIMIT_LOGIN_FAILURES_PER_IP: positiveInt.default(30),
  RATE_LIMIT_LOGIN_WINDOW_SECONDS: positiveInt.default(900),
  RATE_LIMIT_REQUESTS_PER_USER: positiveInt.default(100),
  RATE_LIMIT_REQUESTS_WINDOW_SECONDS: positiveInt.default(60),
  RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE: positiveInt.default(20),
  RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE: positiveInt.default(10),
});

export type Env = z.infer<typeof schema>;

/** The names of every variable the code reads (docker-compose and .env.example are checked against it). */
export const ENV_VARIABLES: readonly string[] = Object.keys(schema.shape);

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  api: {
    host: string;
    port: number;
    publicUrl: string;
    jsonLimitBytes: number;
    maxUploadBytes: number;
    shutdownGraceMs: number;
    docsEnabled: boolean;
    /** Trust X-Forwarded-For / -Proto (only behind a reverse proxy that sets them). */
    trustProxy: boolean;
  };
  database: { url: string; poolMax: number };
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    heavyTaskQueue: string;
    metricsAddress: string;
    shutdownGraceMs: number;
    workflowBundlePath: string;
  };
  storage: StorageConfig;
  media: { ffmpegPath: string; ffprobePath: string; probeTimeoutMs: number };
  auth: AuthConfig;
  rateLimit: RateLimitConfig;
  frames: { maxVideoBytes: number; retentionDays: number; timeoutMinutes: number };
  assets: AssetsConfig;
  music: { maxUploadBytes: number; maxDurationMs: number };
  clips: ClipsConfig;
  ai: AiConfig;
  smtp: SmtpConfig;
  cors: { origins: string[] };
}

export interface ClipsConfig {
  /** Largest video accepted by the multipart POST /api/v1/clip-jobs. */
  maxUploadBytes: number;
  /** Longest video a clip job analyses. */
  maxDurationMs: number;
  /** The global baseline weights of the clip scores (CLIP_WEIGHTS_JSON, else the built-in baseline) and their version. */
  baselineWeights: { weights: Weights; version: string };
  /** How long the objects of variants that failed (render or sync check) are kept after the job is done. */
  intermediateRetentionMs: number;
}

export interface AssetsConfig {
  /** Largest file accepted by the multipart route POST /api/v1/assets. */
  maxUploadBytes: number;
  /** Largest file accepted by a direct-to-storage upload session. */
  maxDirectUploadBytes: number;
  /** A direct upload not completed within this time is aborted. */
  uploadExpiryHours: number;
  /** Images with more pixels (width × height, read from the header) are refused before any decode. */
  maxImagePixels: number;
  maxDurationMs: number;
  /** A soft-deleted asset's objects and rows are purged this long after the delete. */
  retentionDays: number;
  /** ffmpeg's limit per rendering attempt. */
  ingestTimeoutMinutes: number;
  /** Lifetime of presigned download URLs and signed HLS playlists. */
  urlTtlSeconds: number;
}

export interface AiConfig {
  /** Empty: no provider — transcription is reported `unavailable`, never invented. */
  apiKey: string;
  /** Any OpenAI-compatible server; empty: OpenAI's own. */
  baseUrl: string;
  transcriptionModel: string;
  /** `auto` (the provider detects it) or an ISO-639-1 code. */
  transcriptionLanguage: string;
  timeoutMs: number;
  /** Cost estimate of one minute of transcribed audio, for `ai_usage`. */
  transcriptionUsdPerMinute: number;
  /** The chat model that interprets feedback text (structured output) into weight deltas. */
  feedbackModel: string;
  /** Cost estimate of 1,000 prompt / completion tokens of the feedback model, for `ai_usage`. */
  feedbackUsdPer1kInputTokens: number;
  feedbackUsdPer1kOutputTokens: number;
  /** The AI worker's task queue; its worker is limited to `maxActivitiesPerSecond` (the provider's rate). */
  taskQueue: string;
  maxActivitiesPerSecond: number;
}

export interface SmtpConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user: string;
  password: string;
  from: string;
}

export interface AuthConfig {
  jwtSecret: string;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
}

/** A limit of `points` per sliding window of `windowSeconds`. */
export interface LimitRule {
  points: number;
  windowSeconds: number;
}

export interface RateLimitConfig {
  enabled: boolean;
  /** Empty: limits are stored in PostgreSQL. */
  redisUrl: string;
  loginFailuresPerAccount: LimitRule;
  loginFailuresPerIp: LimitRule;
  requestsPerUser: LimitRule;
  uploadsPerUser: LimitRule;
  clipJobsPerUser: LimitRule;
  downloadsPerUser: LimitRule;
}

export interface StorageConfig {
  driver: 's3' | 'fs';
  bucketPrefix: string;
  fsRoot: string;
  signingSecret: string;
  /** Base URL under which the API serves presigned fs-driver URLs. */
  publicUrl: string;
  s3: { endpoint: string; publicEndpoint: string; region: string; accessKey: string; secretKey: string };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of ENV_VARIABLES) {
    const value = source[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production') {
    const defaults = (Object.keys(DEV_SECRETS) as (keyof typeof DEV_SECRETS)[]).filter(
      (key) => e[key] === DEV_SECRETS[key],
    );
    if (defaults.length > 0) {
      throw new ConfigError(defaults.map((key) => `${key}: the development default is refused in production; set a secret`));
    }
  }
  let baselineWeights: ClipsConfig['baselineWeights'];
  try {
    baselineWeights = loadBaselineWeights(e.CLIP_WEIGHTS_JSON);
  } catch (err) {
    if (err instanceof WeightsError) throw new ConfigError([`CLIP_WEIGHTS_JSON: ${err.message}`]);
    throw err;
  }
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      publicUrl: e.PUBLIC_URL.replace(/\/+$/, ''),
      jsonLimitBytes: e.JSON_BODY_LIMIT_KB * 1024,
      maxUploadBytes: e.MAX_UPLOAD_MB * 1024 * 1024,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      docsEnabled: e.DOCS_ENABLED,
      trustProxy: e.TRUST_PROXY,
    },
    database: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      heavyTaskQueue: e.TEMPORAL_HEAVY_TASK_QUEUE,
      metricsAddress: e.WORKER_METRICS_ADDRESS,
      shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    },
    storage: {
      driver: e.STORAGE_DRIVER,
      bucketPrefix: e.STORAGE_BUCKET_PREFIX,
      fsRoot: e.STORAGE_FS_ROOT,
      signingSecret: e.STORAGE_SIGNING_SECRET,
      publicUrl: e.PUBLIC_URL.replace(/\/+$/, ''),
      s3: {
        endpoint: e.S3_ENDPOINT,
        publicEndpoint: e.S3_PUBLIC_ENDPOINT,
        region: e.S3_REGION,
        accessKey: e.S3_ACCESS_KEY,
        secretKey: e.S3_SECRET_KEY,
      },
    },
    media: { ffmpegPath: e.FFMPEG_PATH, ffprobePath: e.FFPROBE_PATH, probeTimeoutMs: e.FFPROBE_TIMEOUT_MS },
    auth: {
      jwtSecret: e.JWT_SECRET,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
    },
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      redisUrl: e.REDIS_URL,
      loginFailuresPerAccount: { points: e.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT, windowSeconds: e.RATE_LIMIT_LOGIN_WINDOW_SECONDS },
      loginFailuresPerIp: { points: e.RATE_LIMIT_LOGIN_FAILURES_PER_IP, windowSeconds: e.RATE_LIMIT_LOGIN_WINDOW_SECONDS },
      requestsPerUser: { points: e.RATE_LIMIT_REQUESTS_PER_USER, windowSeconds: e.RATE_LIMIT_REQUESTS_WINDOW_SECONDS },
      uploadsPerUser: { points: e.RATE_LIMIT_UPLOADS_PER_USER_PER_MINUTE, windowSeconds: 60 },
      downloadsPerUser: { points: e.RATE_LIMIT_DOWNLOADS_PER_USER_PER_MINUTE, windowSeconds: 60 },
      clipJobsPerUser: { points: e.RATE_LIMIT_CLIP_JOBS_PER_USER_PER_MINUTE, windowSeconds: 60 },
    },
    frames: { maxVideoBytes: e.MAX_VIDEO_SIZE_MB * 1024 * 1024, retentionDays: e.VIDEO_RETENTION_DAYS, timeoutMinutes: e.FRAMES_TIMEOUT_MINUTES },
    assets: {
      maxUploadBytes: e.ASSET_MAX_UPLOAD_MB * 1024 * 1024,
      maxDirectUploadBytes: e.ASSET_MAX_DIRECT_UPLOAD_MB * 1024 * 1024,
      uploadExpiryHours: e.ASSET_UPLOAD_EXPIRY_HOURS,
      maxImagePixels: e.ASSET_MAX_IMAGE_PIXELS,
      maxDurationMs: e.ASSET_MAX_DURATION_MINUTES * 60_000,
      retentionDays: e.ASSET_RETENTION_DAYS,
      ingestTimeoutMinutes: e.ASSET_INGEST_TIMEOUT_MINUTES,
      urlTtlSeconds: e.ASSET_URL_TTL_SECONDS,
    },
    music: { maxUploadBytes: e.MUSIC_MAX_UPLOAD_MB * 1024 * 1024, maxDurationMs: e.MUSIC_MAX_DURATION_MINUTES * 60_000 },
    clips: { maxUploadBytes: e.CLIP_MAX_UPLOAD_MB * 1024 * 1024, maxDurationMs: e.CLIP_MAX_DURATION_MINUTES * 60_000, baselineWeights,
      intermediateRetentionMs: Math.round(e.CLIP_INTERMEDIATE_RETENTION_HOURS * 3_600_000) },
    ai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      transcriptionModel: e.OPENAI_TRANSCRIPTION_MODEL,
      transcriptionLanguage: e.TRANSCRIPTION_LANGUAGE,
      timeoutMs: e.OPENAI_TIMEOUT_MS,
      transcriptionUsdPerMinute: e.OPENAI_TRANSCRIPTION_USD_PER_MINUTE,
      feedbackModel: e.OPENAI_FEEDBACK_MODEL,
      feedbackUsdPer1kInputTokens: e.OPENAI_FEEDBACK_USD_PER_1K_INPUT_TOKENS,
      feedbackUsdPer1kOutputTokens: e.OPENAI_FEEDBACK_USD_PER_1K_OUTPUT_TOKENS,
      taskQueue: e.AI_TASK_QUEUE,
      maxActivitiesPerSecond: e.AI_MAX_ACTIVITIES_PER_SECOND,
    },
    smtp: { host: e.SMTP_HOST, port: e.SMTP_PORT, secure: e.SMTP_SECURE, user: e.SMTP_USER, password: e.SMTP_PASSWORD, from: e.SMTP_FROM },
    cors: { origins: e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean) },
  };
}

/** For process entry points: load the config or print the problems and exit 1. */
export function loadConfigOrExit(source: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
