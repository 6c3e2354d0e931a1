/** Every workflow type the main worker runs. One file per workflow. */
export { probeMedia } from './probe-media.ts';
