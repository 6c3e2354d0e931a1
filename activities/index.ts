/**
 * createActivities(deps): every activity function, with its dependencies injected by the worker.
 * Grouped by concern: media/ (ffprobe, ffmpeg), db/ (projections), storage/, notify/…
 */
import type { Orm } from '../lib/db/orm.ts';
import type { StorageDriver } from '../lib/storage/index.ts';
import { createProbeDbActivities } from './db/probe-jobs.ts';
import { createProbeMediaActivities } from './media/probe-uploaded-media.ts';

export interface ActivityDeps {
  orm: Orm;
  storage: StorageDriver;
  media: { ffmpegPath: string; ffprobePath: string; probeTimeoutMs: number };
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProbeDbActivities({ orm: deps.orm }),
    ...createProbeMediaActivities({ storage: deps.storage, ffprobePath: deps.media.ffprobePath, probeTimeoutMs: deps.media.probeTimeoutMs }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
