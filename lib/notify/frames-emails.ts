/**
 * The two e-mails of a frames job, as pure functions: plain text plus a simple HTML part in which
 * every interpolated value is escaped. Filenames come from users: control characters are removed
 * and long names shortened before they reach a subject line.
 */

export interface BuiltEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface FramesDoneEmailInput {
  to: string;
  name: string;
  filename: string;
  jobId: string;
  frameCount: number;
  /** When the ZIP is deleted: an ISO-8601 string or a Date. */
  expiresAt: string | Date;
  /** Public base URL of the API, e.g. `https://moviola.example.com`. */
  appUrl: string;
}

export interface FramesFailedEmailInput {
  to: string;
  name: string;
  filename: string;
  jobId: string;
  errorCode: string;
  errorMessage: string;
  /** When given, the retry endpoint is shown as a full URL rather than a path. */
  appUrl?: string;
}

/** What each failure code means, in the user's words, and what to do about it. */
export const FAILURE_REASONS: Record<string, { reason: string; advice: string }> = {
  INVALID_MEDIA: {
    reason: 'The file could not be read as a video: it looks damaged, truncated or not a video at all.',
    advice: 'Retrying the same file will fail the same way; upload a complete copy of the video instead.',
  },
  UNSUPPORTED_CODEC: {
    reason: 'The video is encoded with a codec we cannot decode.',
    advice: 'Retrying the same file will fail the same way; re-encode it (for example to H.264 MP4) and upload it again.',
  },
  PROCESSING_ERROR: {
    reason: 'Extracting the frames failed on our side on every attempt; this is not known to be a problem with your file.',
    advice: 'Retrying later is likely to work.',
  },
};

const UNKNOWN_FAILURE = {
  reason: 'Processing stopped with an unexpected error.',
  advice: 'You can retry the job; if it fails again, contact support with the job id.',
};

const MAX_FILENAME_IN_SUBJECT = 80;
const MAX_ERROR_MESSAGE = 500;

export function framesDoneEmail(input: FramesDoneEmailInput): BuiltEmail {
  const filename = cleanText(input.filename);
  const expires = formatUtc(input.expiresAt);
  const downloadPath = jobPath(input.jobId, 'download');
  const downloadUrl = joinUrl(input.appUrl, downloadPath);
  const frames = `${input.frameCount} ${input.frameCount === 1 ? 'frame' : 'frames'}`;

  const text = [
    greeting(input.name),
    '',
    `The frames of "${filename}" are ready: a ZIP with ${frames} (one per second of video).`,
    '',
    `It can be downloaded until ${expires}; after that the ZIP and the original video are deleted.`,
    '',
    'To download it, request a signed link (valid 15 minutes) with your access token:',
    `  GET ${downloadUrl}`,
    '',
    `Job id: ${input.jobId}`,
    '',
    '— Moviola',
  ].join('\n');

  const html = page([
    `<p>${escapeHtml(greeting(input.name))}</p>`,
    `<p>The frames of <strong>${escapeHtml(filename)}</strong> are ready: a ZIP with ${escapeHtml(frames)} (one per second of video).</p>`,
    `<p>It can be downloaded until <strong>${escapeHtml(expires)}</strong>; after that the ZIP and the original video are deleted.</p>`,
    `<p>To download it, request a signed link (valid 15 minutes) with your access token:<br><code>GET <a href="${escapeHtml(downloadUrl)}">${escapeHtml(downloadUrl)}</a></code></p>`,
    `<p>Job id: <code>${escapeHtml(input.jobId)}</code></p>`,
  ]);

  return { to: input.to, subject: `Your frames are ready: ${shorten(filename, MAX_FILENAME_IN_SUBJECT)}`, text, html };
}

export function framesFailedEmail(input: FramesFailedEmailInput): BuiltEmail {
  const filename = cleanText(input.filename);
  const { reason, advice } = FAILURE_REASONS[input.errorCode] ?? UNKNOWN_FAILURE;
  const detail = shorten(cleanText(input.errorMessage), MAX_ERROR_MESSAGE);
  const retryPath = input.appUrl ? joinUrl(input.appUrl, jobPath(input.jobId, 'retry')) : jobPath(input.jobId, 'retry');

  const text = [
    greeting(input.name),
    '',
    `Extracting the frames of "${filename}" failed.`,
    '',
    `Reason (${input.errorCode}): ${reason}`,
    ...(detail ? [`Details: ${detail}`] : []),
    '',
    `${advice} To retry the job, send an authenticated request:`,
    `  POST ${retryPath}`,
    '',
    `Job id: ${input.jobId}`,
    '',
    '— Moviola',
  ].join('\n');

  const html = page([
    `<p>${escapeHtml(greeting(input.name))}</p>`,
    `<p>Extracting the frames of <strong>${escapeHtml(filename)}</strong> failed.</p>`,
    `<p>Reason (<code>${escapeHtml(input.errorCode)}</code>): ${escapeHtml(reason)}</p>`,
    ...(detail ? [`<p>Details: ${escapeHtml(detail)}</p>`] : []),
    `<p>${escapeHtml(advice)} To retry the job, send an authenticated request:<br><code>POST ${escapeHtml(retryPath)}</code></p>`,
    `<p>Job id: <code>${escapeHtml(input.jobId)}</code></p>`,
  ]);

  return { to: input.to, subject: `Frame extraction failed: ${shorten(filename, MAX_FILENAME_IN_SUBJECT)}`, text, html };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** `/api/v1/jobs/<id>/<action>` with the id percent-encoded. */
export function jobPath(jobId: string, action: 'download' | 'retry'): string {
  return `/api/v1/jobs/${encodeURIComponent(jobId)}/${action}`;
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

function greeting(name: string): string {
  const n = cleanText(name).trim();
  return n ? `Hi ${n},` : 'Hi,';
}

/** Removes control characters (CR/LF included: nothing user-supplied may break a line or a header). */
function cleanText(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

function shorten(value: string, max: number): string {
  const chars = Array.from(value); // by code point: never split an emoji
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('')}…`;
}

function formatUtc(value: string | Date): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new RangeError(`expiresAt is not a date: ${String(value)}`);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function page(paragraphs: string[]): string {
  return [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif; line-height: 1.4">',
    ...paragraphs,
    '<p>— Moviola</p>',
    '</body></html>',
  ].join('\n');
}
