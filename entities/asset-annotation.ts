/** What people (or tools) say about an asset: keywords and timecode markers, tenant-scoped. */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { KEYWORD_SOURCES, MARKER_SOURCES, MARKER_TYPES } from '../lib/assets/catalogue.ts';

export const AssetKeyword = defineEntity({
  name: 'AssetKeyword',
  tableName: 'asset_keywords',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    assetId: p.uuid(),
    keyword: p.string().length(100),
    /** Trimmed, lower-case, Unicode NFC, inner whitespace collapsed; unique per asset. */
    normalized: p.string().length(100),
    category: p.string().length(64).nullable(),
    confidence: p.decimal('number').precision(4).scale(3).nullable(),
    source: p.enum(KEYWORD_SOURCES),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type IAssetKeyword = InferEntity<typeof AssetKeyword>;

export const AssetMarker = defineEntity({
  name: 'AssetMarker',
  tableName: 'asset_markers',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    assetId: p.uuid(),
    type: p.enum(MARKER_TYPES),
    timecodeInMs: p.bigint('number'),
    timecodeOutMs: p.bigint('number'),
    /** GENERATED ALWAYS AS (timecode_out_ms - timecode_in_ms) STORED: never written by the app. */
    durationMs: p.bigint('number').generated('(timecode_out_ms - timecode_in_ms) stored').nullable(),
    title: p.string().length(300).nullable(),
    notes: p.text().nullable(),
    source: p.enum(MARKER_SOURCES),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type IAssetMarker = InferEntity<typeof AssetMarker>;
