/**
 * /api/v1/learning-centers — the tenant's learning centers (one live center per scope: `global`,
 * `artist-<id>`, `music-<id>`), each the entity workflow `learningCenter` (id
 * `learning-center-<tenantId>-<scope>`) that owns its weights, versions, label and pause state.
 * The API reads the projection (`learning_centers`, `learning_center_versions`) and queries the
 * running workflow for a center's current state; every change is a signal (pause, resume) or an
 * update (editWeights, setLabel, revert, archive) whose rejection becomes 422/409 with the
 * rejection's type as the code. Editors and above (admin, manager, editor; superusers) change
 * centers; every role reads them.
 */
import Router from '@koa/router';
import type { WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import type { Role } from '../../entities/index.ts';
import { validateWeights, WeightsError } from '../../lib/clips/weights.ts';
import type { Weights } from '../../lib/clips/contract.ts';
import { AppError, validationFailed } from '../../lib/errors.ts';
import { REASON_MAX } from '../../lib/learning/center-state.ts';
import { CENTER_LABELS, parseScope, scopeOf, type CenterCurrent } from '../../lib/learning/contract.ts';
import {
  archiveUpdate, currentQuery, editWeightsUpdate, pauseSignal, resumeSignal, revertUpdate, setLabelUpdate,
} from '../../workflows/learning-center-messages.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiContext } from '../openapi/registry.ts';
import type { ApiDeps } from '../context.ts';
import {
  CENTER_ROW_STATUSES, centerView, CenterViewSchema, decodeVersionCursor, deleteUnstartedCenter, encodeVersionCursor, findLiveCenter,
  findTenantCenter, insertCenter, listCenters, listVersions, versionView, VersionViewSchema, type CenterRow, type CenterView,
} from '../learning/center-rows.ts';
import { centerArchived, queryCurrent, startCenter, temporalCall, UPDATE_DEADLINE_MS, withRunningCenter, type CenterDeps } from '../learning/center-workflow.ts';
import { findTenantArtist } from '../music/find-artist.ts';
import { findTenantMusic } from '../music/find-music.ts';
import type { ApiRegistry } from '../openapi/registry.ts';
import { decodeCursor, encodeCursor, PageQuerySchema } from '../pagination.ts';

/** Who may change a center (superusers pass too). */
export const CENTER_EDITORS: readonly Role[] = ['admin', 'manager', 'editor'];
/** How long pause/resume and archive wait to see their effect before answering. */
const SETTLE_MS = 5_000;

const IdParams = z.object({ id: z.string().max(64) });
const Page = (schema: z.ZodType) => z.object({ items: z.array(schema), next_cursor: z.string().nullable() });

const LIST_QUERY = PageQuerySchema.extend({
  status: z.enum(CENTER_ROW_STATUSES).optional().describe('active, paused or archived (default: all)'),
  label: z.enum(CENTER_LABELS).optional(),
  version: z.coerce.number().int().min(1).optional().describe('Centers at exactly this version'),
  scope_kind: z.enum(['global', 'artist', 'music']).optional(),
  scope: z.string().max(80).optional().describe('`global`, `artist-<id>` or `music-<id>`'),
});

const CreateSchema = z.strictObject({
  scope: z.string().max(80).meta({ description: '`global`, `artist-<id>` or `music-<id>` (the artist or track must be the tenant\'s)' }),
  label: z.enum(CENTER_LABELS).optional().meta({ description: 'default `stable`; versions made while `experimental` are not served to ordinary clip jobs' }),
});

const WEIGHTS_DESCRIPTION = 'An object of some or all of hook, energy, motion, cuts_on_beats, music_fit, visual_variety, frozen_penalty: finite numbers ≥ 0; the others keep their value';
const EditSchema = z.strictObject({ weights: z.unknown().meta({ description: WEIGHTS_DESCRIPTION }), reason: z.unknown().meta({ description: `Why (1–${REASON_MAX} characters)` }) });
const LabelSchema = z.strictObject({ label: z.unknown().meta({ description: 'stable or experimental' }) });
const RevertSchema = z.strictObject({
  to: z.union([z.number().int(), z.literal('baseline')]).meta({ description: 'A version number, or `baseline`; a version the center does not have is 422 UNKNOWN_VERSION' }),
  reason: z.unknown().optional().meta({ description: `Why (1–${REASON_MAX} characters)` }),
});

const R = {
  notFound: { description: "NOT_FOUND (also another tenant's)" },
  archived: { description: 'CENTER_ARCHIVED: the center is archived (its history stays readable)' },
  unavailable: { description: 'DEPENDENCY_UNAVAILABLE: Temporal could not be reached or did not answer in time' },
};

export function createLearningCentersRouter(deps: ApiDeps, registry: ApiRegistry): Router {
  const router = new Router();
  const { config, orm, temporal } = deps;
  const centers: CenterDeps = { config, temporal, em: () => orm.em.fork() };

  /** The center as GET answers it: the running workflow's state when it answers, else the projection. */
  async function view(ctx: ApiContext, row: CenterRow): Promise<CenterView> {
    const current = await queryCurrent(centers, row, (err) => ctx.state.log.warn({ err, centerId: row.id }, 'learning center query failed; answering from the projection'));
    return centerView(row, current);
  }

  /** The live center of the caller's tenant; archived → 409 CENTER_ARCHIVED. */
  async function liveCenter(ctx: ApiContext, id: string): Promise<CenterRow> {
    const row = await findTenantCenter(orm.em.fork(), currentUser(ctx).tenantId, id);
    if (row.status === 'archived') throw centerArchived(row);
    return row;
  }

  async function currentOf(ctx: ApiContext, row: CenterRow): Promise<CenterCurrent> {
    const current = await withRunningCenter(centers, row, ctx.state, (h) => h.query(currentQuery));
    if (current.archived) throw centerArchived(row);
    return current;
  }

  /** Sends an update and answers the state it returns. */
  async function update(ctx: ApiContext, id: string, send: (handle: WorkflowHandle, author: string) => Promise<CenterCurrent>): Promise<void> {
    const user = currentUser(ctx);
    const row = await liveCenter(ctx, id);
    const current = await withRunningCenter(centers, row, ctx.state, (h) => send(h, user.id), UPDATE_DEADLINE_MS);
    ctx.state.log.info({ centerId: row.id, scope: row.scope, version: current.version, label: current.label }, 'learning center updated');
    ctx.body = centerView(row, current);
  }

  /** Polls `current` until `done` holds (or SETTLE_MS pass); the last state seen. */
  async function settle(ctx: ApiContext, row: CenterRow, done: (c: CenterCurrent) => boolean): Promise<CenterCurrent | null> {
    const deadline = Date.now() + SETTLE_MS;
    let last: CenterCurrent | null = null;
    for (;;) {
      last = await queryCurrent(centers, row, (err) => ctx.state.log.warn({ err, centerId: row.id }, 'learning center query failed'));
      if ((last && done(last)) || Date.now() > deadline) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/learning-centers', operationId: 'listLearningCenters', tags: ['Learning'], auth: 'user',
    summary: "The tenant's learning centers (live and archived), newest first, as stored (the projection)",
    query: LIST_QUERY,
    responses: { 200: { description: 'A page', schema: Page(CenterViewSchema) }, 422: { description: 'VALIDATION_FAILED, INVALID_CURSOR' } },
  }, async (ctx, { query }) => {
    const user = currentUser(ctx);
    const rows = await listCenters(orm.em.fork(), {
      tenantId: user.tenantId, status: query.status, label: query.label, version: query.version, scopeKind: query.scope_kind, scope: query.scope,
      cursor: decodeCursor(query.cursor), limit: query.limit,
    });
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    ctx.body = {
      items: items.map((r) => centerView(r)),
      next_cursor: rows.length > query.limit && last ? encodeCursor({ createdAt: new Date(last.created_at), id: last.id }) : null,
    };
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/learning-centers', operationId: 'createLearningCenter', tags: ['Learning'], auth: CENTER_EDITORS,
    summary: 'Create the learning center of a scope (starts its learningCenter workflow at the global baseline)',
    body: CreateSchema,
    responses: {
      201: { description: 'The center (version 1: the baseline)', schema: CenterViewSchema },
      404: { description: "NOT_FOUND: the scope's artist or track (also another tenant's)" },
      409: { description: 'CENTER_EXISTS: the scope has a live center (`details.center_id`); CENTER_BUSY: the archived center of the scope is still closing' },
      422: { description: 'VALIDATION_FAILED: scope is not `global`, `artist-<uuid>` or `music-<uuid>`; label not stable/experimental' },
      503: R.unavailable,
    },
  }, async (ctx, { body }) => {
    const user = currentUser(ctx);
    const scope = parseScope(body.scope);
    if (!scope) throw validationFailed([{ in: 'body', path: 'scope', message: 'must be `global`, `artist-<uuid>` or `music-<uuid>` (lower-case)' }]);
    const em = orm.em.fork();
    if (scope.kind === 'artist') await findTenantArtist(em, user.tenantId, scope.artistId);
    if (scope.kind === 'music') await findTenantMusic(em, user.tenantId, scope.musicId);
    const row = await insertCenter(em, { tenantId: user.tenantId, scope, label: body.label ?? 'stable', baselineWeights: config.clips.baselineWeights.weights, createdBy: user.id });
    if (!row) {
      const live = await findLiveCenter(em, user.tenantId, scopeOf(scope));
      throw new AppError(409, 'CENTER_EXISTS', `The scope ${scopeOf(scope)} already has a live learning center`, { details: { center_id: live?.id ?? null } });
    }
    try {
      await startCenter(centers, row, user.id, ctx.state);
    } catch (err) {
      await deleteUnstartedCenter(orm.em.fork(), row);
      throw err;
    }
    ctx.state.log.info({ centerId: row.id, scope: row.scope, label: row.label }, 'learning center created');
    ctx.status = 201;
    ctx.set('Location', `/api/v1/learning-centers/${row.id}`);
    ctx.body = centerView(row);
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/learning-centers/:id', operationId: 'getLearningCenter', tags: ['Learning'], auth: 'user',
    summary: 'A learning center with its current weights (from the running workflow; archived centers from the projection)',
    params: IdParams,
    responses: { 200: { description: 'The center', schema: CenterViewSchema }, 404: R.notFound },
  }, async (ctx, { params }) => {
    ctx.body = await view(ctx, await findTenantCenter(orm.em.fork(), currentUser(ctx).tenantId, params.id));
  });

  registry.addRoute(router, {
    method: 'put', path: '/api/v1/learning-centers/:id', operationId: 'editLearningCenterWeights', tags: ['Learning'], auth: CENTER_EDITORS,
    summary: 'Set some or all weights by hand (update editWeights): a new version',
    description: '`{"weights": {"energy": 0.3, …}, "reason": "…"}`. Unknown sub-scores, negative or non-finite weights are refused before the workflow is asked.',
    params: IdParams,
    body: EditSchema,
    responses: {
      200: { description: 'The center after the edit', schema: CenterViewSchema },
      404: R.notFound,
      409: R.archived,
      422: { description: 'INVALID_WEIGHTS (unknown sub-score, negative, non-finite, none given, or no positive weight left), INVALID_REASON, VALIDATION_FAILED' },
      503: R.unavailable,
    },
  }, async (ctx, { params, body }) => {
    const weights = checkWeights(body.weights);
    const reason = checkReason(body.reason, true)!;
    await update(ctx, params.id, (h, author) => h.executeUpdate(editWeightsUpdate, { args: [{ weights, reason, author }] }));
  });

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/learning-centers/:id', operationId: 'archiveLearningCenter', tags: ['Learning'], auth: CENTER_EDITORS,
    summary: 'Archive a center (update archive): its workflow completes; its row and history stay readable, and the scope may get a new center',
    params: IdParams,
    responses: { 200: { description: 'The archived center', schema: CenterViewSchema }, 404: R.notFound, 409: R.archived, 503: R.unavailable },
  }, async (ctx, { params }) => {
    const user = currentUser(ctx);
    const row = await liveCenter(ctx, params.id);
    const current = await withRunningCenter(centers, row, ctx.state, (h) => h.executeUpdate(archiveUpdate, { args: [{ author: user.id }] }), UPDATE_DEADLINE_MS);
    // The workflow completes after its last save: wait (briefly) so that the scope is free for a new center when this answers.
    const handle = temporal.workflow.getHandle(row.workflow_id);
    await temporalCall(temporal, () => handle.result()).catch((err: unknown) => ctx.state.log.warn({ err, centerId: row.id }, 'archived learning center: workflow result not seen'));
    const stored = await waitForArchivedRow(row);
    ctx.state.log.info({ centerId: row.id, scope: row.scope, version: current.version }, 'learning center archived');
    ctx.body = stored.status === 'archived' ? centerView(stored) : { ...centerView(stored, current), status: 'archived' as const };
  });

  async function waitForArchivedRow(row: CenterRow): Promise<CenterRow> {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const stored = await findTenantCenter(orm.em.fork(), row.tenant_id, row.id);
      if (stored.status === 'archived' || Date.now() > deadline) return stored;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  for (const action of ['pause', 'resume'] as const) {
    const pause = action === 'pause';
    registry.addRoute(router, {
      method: 'post', path: `/api/v1/learning-centers/:id/${action}`, operationId: `${action}LearningCenter`, tags: ['Learning'], auth: CENTER_EDITORS,
      summary: pause
        ? 'Pause a center (signal pause): feedback is kept, not applied, until it resumes'
        : 'Resume a paused center (signal resume): the feedback kept while paused is applied in order',
      params: IdParams,
      responses: {
        200: { description: 'The center once the workflow has taken the signal', schema: CenterViewSchema },
        202: { description: 'Signalled; the workflow had not shown the change yet when the API answered', schema: CenterViewSchema },
        404: R.notFound,
        409: { description: `${pause ? 'ALREADY_PAUSED' : 'ALREADY_ACTIVE'}; CENTER_ARCHIVED` },
        503: R.unavailable,
      },
    }, async (ctx, { params }) => {
      const row = await liveCenter(ctx, params.id);
      const before = await currentOf(ctx, row);
      if (pause && before.status === 'paused') throw new AppError(409, 'ALREADY_PAUSED', `The learning center ${row.id} is already paused`);
      if (!pause && before.status === 'active') throw new AppError(409, 'ALREADY_ACTIVE', `The learning center ${row.id} is already active`);
      await withRunningCenter(centers, row, ctx.state, (h) => h.signal(pause ? pauseSignal : resumeSignal));
      const target = pause ? 'paused' : 'active';
      const after = await settle(ctx, row, (c) => c.status === target);
      ctx.state.log.info({ centerId: row.id, scope: row.scope }, `learning center ${action}d`);
      ctx.status = after?.status === target ? 200 : 202;
      ctx.body = centerView(row, after ?? before);
    });
  }

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/learning-centers/:id/revert', operationId: 'revertLearningCenter', tags: ['Learning'], auth: CENTER_EDITORS,
    summary: 'Revert to an earlier version or to the baseline (update revert): a new version with those weights',
    description: '`{"to": 3 | "baseline", "reason"?}`. A version the center does not have is refused (422 UNKNOWN_VERSION) and nothing changes.',
    params: IdParams,
    body: RevertSchema,
    responses: {
      200: { description: 'The center after the revert', schema: CenterViewSchema },
      404: R.notFound,
      409: R.archived,
      422: { description: 'UNKNOWN_VERSION, INVALID_REASON, VALIDATION_FAILED (`to` neither an integer nor "baseline")' },
      503: R.unavailable,
    },
  }, async (ctx, { params, body }) => {
    const reason = checkReason(body.reason, false);
    await update(ctx, params.id, (h, author) => h.executeUpdate(revertUpdate, { args: [{ to: body.to, author, ...(reason === undefined ? {} : { reason }) }] }));
  });

  registry.addRoute(router, {
    method: 'put', path: '/api/v1/learning-centers/:id/label', operationId: 'setLearningCenterLabel', tags: ['Learning'], auth: CENTER_EDITORS,
    summary: 'Label a center stable or experimental (update setLabel)',
    description: '`{"label": "stable" | "experimental"}`. Versions made while experimental are served only to experimental clip jobs.',
    params: IdParams,
    body: LabelSchema,
    responses: {
      200: { description: 'The center with its new label', schema: CenterViewSchema },
      404: R.notFound,
      409: R.archived,
      422: { description: 'INVALID_LABEL' },
      503: R.unavailable,
    },
  }, async (ctx, { params, body }) => {
    if (typeof body.label !== 'string' || !(CENTER_LABELS as readonly string[]).includes(body.label)) {
      throw new AppError(422, 'INVALID_LABEL', `label must be one of ${CENTER_LABELS.join(', ')}`);
    }
    const label = body.label as (typeof CENTER_LABELS)[number];
    await update(ctx, params.id, (h, author) => h.executeUpdate(setLabelUpdate, { args: [{ label, author }] }));
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/learning-centers/:id/history', operationId: 'getLearningCenterHistory', tags: ['Learning'], auth: 'user',
    summary: "A center's versions, newest first (also of an archived center)",
    params: IdParams,
    query: PageQuerySchema,
    responses: { 200: { description: 'A page of versions', schema: Page(VersionViewSchema) }, 404: R.notFound, 422: { description: 'INVALID_CURSOR' } },
  }, async (ctx, { params, query }) => {
    const em = orm.em.fork();
    const row = await findTenantCenter(em, currentUser(ctx).tenantId, params.id);
    const rows = await listVersions(em, row, decodeVersionCursor(query.cursor), query.limit);
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    ctx.body = { items: items.map(versionView), next_cursor: rows.length > query.limit && last ? encodeVersionCursor(last.version) : null };
  });

  return router;
}

/** Partial weights as the workflow takes them; anything else is 422 INVALID_WEIGHTS naming the problem. */
function checkWeights(value: unknown): Partial<Weights> {
  let weights: Partial<Weights>;
  try {
    weights = validateWeights(value, true);
  } catch (err) {
    if (err instanceof WeightsError) throw new AppError(422, 'INVALID_WEIGHTS', err.message);
    throw err;
  }
  if (Object.keys(weights).length === 0) throw new AppError(422, 'INVALID_WEIGHTS', 'weights: give at least one sub-score weight');
  return weights;
}

/** A reason of 1–REASON_MAX characters (trimmed); `required` false lets it be absent. */
function checkReason(value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim().length === 0) throw new AppError(422, 'INVALID_REASON', 'reason must be a non-empty string');
  const reason = value.trim();
  if (reason.length > REASON_MAX) throw new AppError(422, 'INVALID_REASON', `reason must be at most ${REASON_MAX} characters`);
  return reason;
}
