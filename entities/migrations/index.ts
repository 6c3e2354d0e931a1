/** Every migration, in order. New migrations are appended here (explicit list: no glob at run time). */
import { Migration0001ProbeJobs } from './0001-probe-jobs.ts';
import { Migration0002Accounts } from './0002-accounts.ts';
import { Migration0003FramesJobs } from './0003-frames-jobs.ts';
import { Migration0004Assets } from './0004-assets.ts';
import { Migration0005AssetIngest } from './0005-asset-ingest.ts';
import { Migration0006Music } from './0006-music.ts';
import { Migration0007ClipJobs } from './0007-clip-jobs.ts';
import { Migration0008ClipRenders } from './0008-clip-renders.ts';
import { Migration0009LearningCenters } from './0009-learning-centers.ts';

export const MIGRATIONS = [
  { name: '0001-probe-jobs', class: Migration0001ProbeJobs },
  { name: '0002-accounts', class: Migration0002Accounts },
  { name: '0003-frames-jobs', class: Migration0003FramesJobs },
  { name: '0004-assets', class: Migration0004Assets },
  { name: '0005-asset-ingest', class: Migration0005AssetIngest },
  { name: '0006-music', class: Migration0006Music },
  { name: '0007-clip-jobs', class: Migration0007ClipJobs },
  { name: '0008-clip-renders', class: Migration0008ClipRenders },
  { name: '0009-learning-centers', class: Migration0009LearningCenters },
];
