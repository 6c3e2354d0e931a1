/**
 * The `learning_centers` projection as the API reads and creates it (raw SQL; the `learningCenter`
 * workflow is its one writer after creation, through saveLearningCenter), and the views the routes
 * answer: a center, and a version of its history.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { SUBSCORES, type Weights } from '../../lib/clips/contract.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import {
  CENTER_LABELS, learningCenterWorkflowId, scopeOf, type CenterCurrent, type CenterLabel, type CenterScopeKind, type CenterVersion, type ParsedScope,
} from '../../lib/learning/contract.ts';

export const CENTER_ROW_STATUSES = ['active', 'paused', 'archived'] as const;
export type CenterRowStatus = (typeof CENTER_ROW_STATUSES)[number];

/** A `learning_centers` row (snake_case, as selected). */
export interface CenterRow {
  id: string;
  tenant_id: string;
  scope: string;
  scope_kind: CenterScopeKind;
  artist_id: string | null;
  music_id: string | null;
  workflow_id: string;
  status: CenterRowStatus;
  label: CenterLabel;
  version: number;
  weights: Weights | null;
  baseline_version: number;
  baseline_weights: Weights | null;
  stable_version: number | null;
  stable_weights: Weights | null;
  feedback_applied: number;
  feedback_pending: number;
  genre_confirmations: Record<string, number>;
  revision: number;
  created_by: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  archived_at: Date | string | null;
}

const COLUMNS = `id, tenant_id, scope, scope_kind, artist_id, music_id, workflow_id, status, label, version, weights, baseline_version, baseline_weights,
  stable_version, stable_weights, feedback_applied, feedback_pending, genre_confirmations, revision, created_by, created_at, updated_at, archived_at`;

const UUID = z.uuid();
const db = <T>(fn: () => Promise<T>) => withDependency('postgresql', fn);

async function select(em: EntityManager, where: string, params: unknown[], tail = ''): Promise<CenterRow[]> {
  return (await db(() => em.getConnection().execute(`select ${COLUMNS} from learning_centers where ${where} ${tail}`, params))) as CenterRow[];
}

/** A center of the caller's tenant, live or archived (another tenant's or a malformed id: 404). */
export async function findTenantCenter(em: EntityManager, tenantId: string, id: string): Promise<CenterRow> {
  if (!UUID.safeParse(id).success) throw notFound('Learning center');
  const [row] = await select(em, 'id = ? and tenant_id = ?', [id, tenantId]);
  if (!row) throw notFound('Learning center');
  return row;
}

/** The live (active or paused) center of a scope, if any. */
export async function findLiveCenter(em: EntityManager, tenantId: string, scope: string): Promise<CenterRow | null> {
  const [row] = await select(em, `tenant_id = ? and scope = ? and status <> 'archived'`, [tenantId, scope]);
  return row ?? null;
}

/** The most recently archived center of a scope, if any. */
export async function findArchivedCenter(em: EntityManager, tenantId: string, scope: string): Promise<CenterRow | null> {
  const [row] = await select(em, `tenant_id = ? and scope = ? and status = 'archived'`, [tenantId, scope], 'order by archived_at desc nulls last, created_at desc limit 1');
  return row ?? null;
}

/**
 * Inserts the live center of `scope` unless one exists (the partial unique index on (tenant, scope)
 * where status <> 'archived' decides): the new row, or null when a live one was already there. The
 * row starts at the baseline (version 1, revision 0); the workflow's first save replaces it.
 */
export async function insertCenter(
  em: EntityManager,
  input: { tenantId: string; scope: ParsedScope; label: CenterLabel; baselineWeights: Weights; createdBy: string | null },
): Promise<CenterRow | null> {
  const scope = scopeOf(input.scope);
  const weights = JSON.stringify(input.baselineWeights);
  const stable = input.label === 'stable';
  const now = new Date();
  const rows = (await db(() => em.getConnection().execute(
    `insert into learning_centers (id, tenant_id, scope, scope_kind, artist_id, music_id, workflow_id, status, label, version, weights,
       baseline_version, baseline_weights, stable_version, stable_weights, revision, created_by, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, 'active', ?, 1, ?, 1, ?, ?, ?, 0, ?, ?, ?)
     on conflict (tenant_id, scope) where status <> 'archived' do nothing
     returning ${COLUMNS}`,
    [randomUUID(), input.tenantId, scope, input.scope.kind, input.scope.kind === 'artist' ? input.scope.artistId : null,
      input.scope.kind === 'music' ? input.scope.musicId : null, learningCenterWorkflowId(input.tenantId, scope), input.label, weights, weights,
      stable ? 1 : null, stable ? weights : null, input.createdBy, now, now],
  ))) as CenterRow[];
  return rows[0] ?? null;
}

/** Removes a row this request inserted whose workflow never started (the workflow never saved it: revision 0). */
export async function deleteUnstartedCenter(em: EntityManager, row: CenterRow): Promise<void> {
  await em.getConnection().execute('delete from learning_centers where id = ? and tenant_id = ? and revision = 0', [row.id, row.tenant_id]).catch(() => undefined);
}

export interface CenterListFilter {
  tenantId: string;
  status?: CenterRowStatus;
  label?: CenterLabel;
  version?: number;
  scopeKind?: CenterScopeKind;
  scope?: string;
  cursor: { createdAt: Date; id: string } | null;
  limit: number;
}

/** The tenant's centers, newest first (created_at desc, id desc), `limit + 1` rows. */
export async function listCenters(em: EntityManager, f: CenterListFilter): Promise<CenterRow[]> {
  const where = ['tenant_id = ?'];
  const params: unknown[] = [f.tenantId];
  if (f.status) { where.push('status = ?'); params.push(f.status); }
  if (f.label) { where.push('label = ?'); params.push(f.label); }
  if (f.version !== undefined) { where.push('version = ?'); params.push(f.version); }
  if (f.scopeKind) { where.push('scope_kind = ?'); params.push(f.scopeKind); }
  if (f.scope) { where.push('scope = ?'); params.push(f.scope); }
  if (f.cursor) { where.push('(created_at, id) < (?, ?)'); params.push(f.cursor.createdAt, f.cursor.id); }
  params.push(f.limit + 1);
  return select(em, where.join(' and '), params, 'order by created_at desc, id desc limit ?');
}

/** Versions of a center, newest first, below `beforeVersion` when given; `limit + 1` rows. */
export async function listVersions(em: EntityManager, row: CenterRow, beforeVersion: number | null, limit: number): Promise<VersionRow[]> {
  return (await db(() => em.getConnection().execute(
    `select version, weights, label, source, author, reason, reverted_to, created_at from learning_center_versions
     where center_id = ? and tenant_id = ? ${beforeVersion === null ? '' : 'and version < ?'}
     order by version desc limit ?`,
    [row.id, row.tenant_id, ...(beforeVersion === null ? [] : [beforeVersion]), limit + 1],
  ))) as VersionRow[];
}

export interface VersionRow {
  version: number;
  weights: Weights;
  label: CenterLabel;
  source: CenterVersion['source'];
  author: string;
  reason: string;
  reverted_to: number | null;
  created_at: Date | string;
}

// ---------------------------------------------------------------------------------------------
// Views

export const WeightsSchema = z
  .object(Object.fromEntries(SUBSCORES.map((k) => [k, z.number()])) as Record<(typeof SUBSCORES)[number], z.ZodNumber>)
  .meta({ id: 'ClipWeights', description: 'The weight of each clip sub-score (frozen_penalty is the size of the penalty subtracted)' });

export const CenterViewSchema = z
  .object({
    id: z.uuid(),
    scope: z.string().meta({ description: '`global`, `artist-<id>` or `music-<id>`' }),
    scope_kind: z.enum(['global', 'artist', 'music']),
    artist_id: z.uuid().nullable(),
    music_id: z.uuid().nullable(),
    workflow_id: z.string(),
    status: z.enum(CENTER_ROW_STATUSES),
    label: z.enum(CENTER_LABELS),
    version: z.number().int(),
    weights: WeightsSchema,
    baseline_version: z.number().int(),
    baseline_weights: WeightsSchema,
    stable_version: z.number().int().nullable().meta({ description: 'The newest version made while the center was stable (what non-experimental jobs use)' }),
    stable_weights: WeightsSchema.nullable(),
    feedback_applied: z.number().int(),
    feedback_pending: z.number().int().meta({ description: 'Feedback received and not applied yet (kept while paused)' }),
    genre_confirmations: z.record(z.string(), z.number()),
    created_by: z.uuid().nullable().meta({ description: 'null when feedback created the center' }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    archived_at: z.iso.datetime().nullable(),
    source: z.enum(['workflow', 'projection']).meta({ description: '`workflow`: the running center answered its `current` query; `projection`: the stored row (archived centers, or the workflow could not answer)' }),
  })
  .meta({ id: 'LearningCenter' });
export type CenterView = z.infer<typeof CenterViewSchema>;

export const VersionViewSchema = z
  .object({
    version: z.number().int(),
    weights: WeightsSchema,
    label: z.enum(CENTER_LABELS),
    source: z.enum(['baseline', 'feedback', 'edit', 'revert']),
    author: z.string().meta({ description: 'A user id, `system`, or `feedback:<id>` for a learned version' }),
    reason: z.string(),
    reverted_to: z.number().int().nullable(),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'LearningCenterVersion' });
export type VersionView = z.infer<typeof VersionViewSchema>;

const iso = (value: Date | string) => new Date(value).toISOString();

/** The view of a row; with `current` (the workflow's `current` query) its state wins over the stored one. */
export function centerView(row: CenterRow, current: CenterCurrent | null = null): CenterView {
  const base = row.baseline_weights ?? row.weights!;
  if (current) {
    return {
      ...identity(row),
      status: current.archived ? 'archived' : current.status,
      label: current.label,
      version: current.version,
      weights: current.weights,
      baseline_version: current.baselineVersion,
      baseline_weights: current.baselineWeights,
      stable_version: current.stableVersion,
      stable_weights: current.stableWeights,
      feedback_applied: current.feedbackApplied,
      feedback_pending: current.feedbackPending,
      genre_confirmations: current.genreConfirmations,
      ...dates(row),
      source: 'workflow',
    };
  }
  return {
    ...identity(row),
    status: row.status,
    label: row.label,
    version: row.version,
    weights: row.weights ?? base,
    baseline_version: row.baseline_version,
    baseline_weights: base,
    stable_version: row.stable_version,
    stable_weights: row.stable_weights,
    feedback_applied: row.feedback_applied,
    feedback_pending: row.feedback_pending,
    genre_confirmations: row.genre_confirmations ?? {},
    ...dates(row),
    source: 'projection',
  };
}

function identity(row: CenterRow) {
  return { id: row.id, scope: row.scope, scope_kind: row.scope_kind, artist_id: row.artist_id, music_id: row.music_id, workflow_id: row.workflow_id };
}

function dates(row: CenterRow) {
  return { created_by: row.created_by, created_at: iso(row.created_at), updated_at: iso(row.updated_at), archived_at: row.archived_at ? iso(row.archived_at) : null };
}

export function versionView(v: VersionRow): VersionView {
  return { version: v.version, weights: v.weights, label: v.label, source: v.source, author: v.author, reason: v.reason, reverted_to: v.reverted_to, created_at: iso(v.created_at) };
}

/** The cursor of a history page: the version the next page starts below. */
export function encodeVersionCursor(version: number): string {
  return Buffer.from(JSON.stringify({ before: version })).toString('base64url');
}

export function decodeVersionCursor(cursor: string | undefined): number | null {
  if (!cursor) return null;
  try {
    const { before } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { before: unknown };
    if (typeof before !== 'number' || !Number.isInteger(before) || before < 1) throw new Error('bad');
    return before;
  } catch {
    throw new AppError(422, 'INVALID_CURSOR', 'The cursor is not valid; start again without it');
  }
}

/** The center's stored versions as the workflow keeps them (oldest first): the last `keep`, plus the baseline and the last stable one. */
export async function versionsForCarry(em: EntityManager, row: CenterRow, keep: number): Promise<CenterVersion[]> {
  const rows = (await db(() => em.getConnection().execute(
    `select version, weights, label, source, author, reason, reverted_to, created_at from learning_center_versions
     where center_id = ? and tenant_id = ?
       and (version > (select coalesce(max(version), 0) - ? from learning_center_versions where center_id = ?) or version = ? or version = ?)
     order by version`,
    [row.id, row.tenant_id, keep, row.id, row.baseline_version, row.stable_version ?? row.baseline_version],
  ))) as VersionRow[];
  return rows.map((v) => ({
    version: v.version, weights: v.weights, label: v.label, source: v.source, author: v.author, reason: v.reason, createdAt: iso(v.created_at),
    ...(v.reverted_to === null ? {} : { revertedTo: v.reverted_to }),
  }));
}
