/**
 * The OpenAI client, built from `config.ai`: OpenAI itself or any OpenAI-compatible server
 * (`OPENAI_BASE_URL`). No key, no client: transcription is then reported `unavailable`.
 *
 * The client never retries by itself (`maxRetries: 0`): every retry is a Temporal activity retry,
 * visible in the workflow history and paced by the AI task queue's rate limit.
 */
import OpenAI from 'openai';
import type { AiConfig } from '../config.ts';
import type { Logger } from '../logger.ts';

export type OpenAiClient = OpenAI;

/** Whether a provider is configured (an API key is set). */
export function providerConfigured(ai: Pick<AiConfig, 'apiKey'>): boolean {
  return ai.apiKey.trim() !== '';
}

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** `null` without an API key. The base URL comes from config only (never the client's own env lookup). */
export function createOpenAiClient(
  ai: Pick<AiConfig, 'apiKey' | 'baseUrl' | 'timeoutMs'>,
  options: { logger?: Logger } = {},
): OpenAI | null {
  if (!providerConfigured(ai)) return null;
  return new OpenAI({
    apiKey: ai.apiKey.trim(),
    baseURL: ai.baseUrl || OPENAI_DEFAULT_BASE_URL,
    timeout: ai.timeoutMs,
    maxRetries: 0,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
