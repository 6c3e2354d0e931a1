/**
 * inspectMusic (id `inspect-music-<musicId>`): probes an uploaded track before it is accepted, so
 * the API answers 422 (INVALID_MEDIA, NO_AUDIO_STREAM, AUDIO_TOO_SHORT, AUDIO_TOO_LONG) at once
 * without running ffprobe itself.
 */
import type { ProbedMedia } from '../activities/media/probe-uploaded-media.ts';
import { inspectUploadedObject } from './inspect-upload.ts';

export interface InspectMusicInput {
  tenantId: string;
  ownerId: string;
  storageKey: string;
}

export async function inspectMusic(input: InspectMusicInput): Promise<ProbedMedia> {
  return inspectUploadedObject(input, { accept: 'media', bucket: 'originals' });
}
