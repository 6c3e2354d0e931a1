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
}

export async function inspectVideo(input: InspectVideoInput): Promise<ProbedMedia> {
  return inspectUploadedObject(input, { accept: 'video' });
}
