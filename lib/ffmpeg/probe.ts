/**
 * ffprobe on untrusted files, in two passes: detect the container with only allowed demuxers
 * (`-format_whitelist`) and only the `file` protocol, then read streams with that demuxer forced.
 */
import { demuxerFor, MEDIA_DEMUXERS } from './formats.ts';
import { normalizeProbe, type FfprobeJson, type MediaMetadata } from './metadata.ts';
import { runTool } from './run-tool.ts';

export interface ProbeOptions {
  ffprobePath: string;
  timeoutMs: number;
  signal?: AbortSignal;
  allowedDemuxers?: readonly string[];
}

/** Why a file is not acceptable media; `code` is the stable API error code. */
export class InvalidMediaError extends Error {
  readonly code: 'INVALID_MEDIA' | 'PROBE_TIMEOUT';
  constructor(code: 'INVALID_MEDIA' | 'PROBE_TIMEOUT', message: string) {
    super(message);
    this.name = 'InvalidMediaError';
    this.code = code;
  }
}

/** The probe was cancelled (activity cancellation): not a verdict on the file. */
export class ProbeAbortedError extends Error {
  constructor() {
    super('ffprobe was cancelled');
    this.name = 'ProbeAbortedError';
  }
}

export function detectFormatArgs(path: string, allowed: readonly string[]): string[] {
  return [
    '-v', 'error',
    '-protocol_whitelist', 'file',
    '-format_whitelist', allowed.join(','),
    '-show_entries', 'format=format_name',
    '-of', 'json',
    `file:${path}`,
  ];
}

export function readStreamsArgs(path: string, demuxer: string): string[] {
  return [
    '-v', 'error',
    '-protocol_whitelist', 'file',
    '-f', demuxer,
    '-show_format',
    '-show_streams',
    '-of', 'json',
    `file:${path}`,
  ];
}

function parseJson(stdout: string): FfprobeJson | null {
  try {
    return JSON.parse(stdout) as FfprobeJson;
  } catch {
    return null;
  }
}

async function runProbe(args: string[], options: ProbeOptions): Promise<FfprobeJson> {
  const result = await runTool(options.ffprobePath, args, { timeoutMs: options.timeoutMs, signal: options.signal });
  if (result.aborted) throw new ProbeAbortedError();
  if (result.timedOut) throw new InvalidMediaError('PROBE_TIMEOUT', `ffprobe did not finish within ${options.timeoutMs} ms`);
  const json = result.exitCode === 0 ? parseJson(result.stdout) : null;
  if (!json) {
    const reason = result.stderr.trim().split('\n').pop() ?? 'unreadable';
    throw new InvalidMediaError('INVALID_MEDIA', `Not a readable media file (${reason.replace(/^.*?: /, '').slice(0, 200)})`);
  }
  return json;
}

export async function probeMedia(path: string, options: ProbeOptions): Promise<{ demuxer: string; metadata: MediaMetadata }> {
  const allowed = options.allowedDemuxers ?? MEDIA_DEMUXERS;
  const detected = await runProbe(detectFormatArgs(path, allowed), options);
  const formatName = detected.format?.format_name ?? '';
  const demuxer = demuxerFor(formatName, allowed);
  if (!demuxer) throw new InvalidMediaError('INVALID_MEDIA', `Container "${formatName || 'unknown'}" is not accepted`);
  const json = await runProbe(readStreamsArgs(path, demuxer), options);
  const metadata = normalizeProbe(json);
  if (!metadata.streams.some((s) => s.type === 'video' || s.type === 'audio')) {
    throw new InvalidMediaError('INVALID_MEDIA', 'The file has no audio or video stream');
  }
  return { demuxer, metadata };
}
