/** `Content-Disposition: attachment` for a download name, the same for both drivers. */
import { sanitizeFilename } from './keys.ts';

/**
 * `attachment; filename="<ascii fallback>"`, plus `filename*=UTF-8''…` (RFC 6266 / 5987) when the
 * name is not plain ASCII. Quotes, backslashes and control characters never reach the header.
 */
export function attachmentDisposition(filename: string): string {
  const name = sanitizeFilename(filename);
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (ascii === name) return `attachment; filename="${ascii}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
