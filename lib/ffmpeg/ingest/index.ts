/** The ffmpeg side of asset ingest: pure argument builders and thin runners, one concern per file. */
export * from './run-ffmpeg.ts';
export * from './poster.ts';
export * from './sprite.ts';
export * from './video-renditions.ts';
export * from './scenes.ts';
export * from './audio-renditions.ts';
export * from './image-renditions.ts';
export * from './image-size.ts';
export * from './mp4-info.ts';
