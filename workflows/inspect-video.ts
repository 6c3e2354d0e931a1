/**
 * inspectVideo (id `inspect-<jobId>`): probes an uploaded video before its frames job is created,
 * so the API answers 422 INVALID_MEDIA at once without running ffprobe itself.
 */
import type { ProbedMedia } from '../activities/media/probe-uploaded-media.ts';
import { inspectUploadedObject } from './inspect-upload.ts';

export interface InspectVideoInput {
  tenantId: string;
  ownerId: string;
  storageKey: string;
  /** Where the upload is; default the uploads bucket (frames jobs). Clip-job videos are in originals. */
  bucket?: 'uploads' | 'originals';
}

export async function inspectVideo(input: InspectVideoInput): Promise<ProbedMedia> {
  return inspectUploadedObject(input, { accept: 'video', ...(input.bucket ? { bucket: input.bucket } : {}) });
}
