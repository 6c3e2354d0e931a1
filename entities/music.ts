/**
 * Music analysis (FALA): artists and their uploaded tracks (workflow `analyzeMusic`, id
 * `music-<musicId>`), and the analysis a track points to — shared by every upload of the same audio
 * in a tenant (cache key: tenant, audio SHA-256, analyzer version). Beats, embeddings and genre
 * profiles are number arrays, read and written with SQL (activities/db/music.ts).
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const MUSIC_STATUSES = ['queued', 'analyzing', 'done', 'failed'] as const;
export type MusicStatus = (typeof MUSIC_STATUSES)[number];

export const Artist = defineEntity({
  name: 'Artist',
  tableName: 'artists',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    name: p.string().length(200),
    genres: p.array().default([]),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    deletedAt: p.datetime().nullable(),
  },
});
export type IArtist = InferEntity<typeof Artist>;

export const MusicAsset = defineEntity({
  name: 'MusicAsset',
  tableName: 'music_assets',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    artistId: p.uuid(),
    title: p.string().length(300),
    declaredGenre: p.string().length(64).nullable(),
    originalFilename: p.string().length(255),
    contentType: p.string().length(255).nullable(),
    sizeBytes: p.bigint('number'),
    sha256: p.string().length(64),
    storageKey: p.string().length(1024),
    durationMs: p.bigint('number').nullable(),
    status: p.enum(MUSIC_STATUSES),
    analysisId: p.uuid().nullable(),
    errorCode: p.string().length(64).nullable(),
    errorMessage: p.text().nullable(),
    createdBy: p.uuid(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    deletedAt: p.datetime().nullable(),
  },
});
export type IMusicAsset = InferEntity<typeof MusicAsset>;

export const MusicAnalysis = defineEntity({
  name: 'MusicAnalysis',
  tableName: 'music_analysis',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    sha256: p.string().length(64),
    analyzerVersion: p.string().length(32),
    durationMs: p.bigint('number'),
    sampleRate: p.integer(),
    tempoBpm: p.double().nullable(),
    tempoConfidence: p.double().nullable(),
    tempoReason: p.text().nullable(),
    loudnessLufs: p.double().nullable(),
    /** Sections, loudness curve, impacts, genre, transcription: the rest of the analysis. */
    features: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IMusicAnalysis = InferEntity<typeof MusicAnalysis>;
