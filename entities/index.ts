import { ProbeJob } from './probe-job.ts';

export { ProbeJob, PROBE_STATUSES, type IProbeJob, type ProbeStatus } from './probe-job.ts';

/** Every entity the ORM knows; migrations under ./migrations create their tables. */
export const ENTITIES = [ProbeJob];
