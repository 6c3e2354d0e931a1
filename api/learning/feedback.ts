/**
 * Feedback: stored once (`music_feedback` / `artist_feedback`), then signalled by reference to the
 * live centers of its scopes — music feedback to the music's center and its artist's, artist
 * feedback to the artist's. A scope without any center gets one, created by this feedback (label
 * `stable`, created by `system`, the config's global baseline as version 1). A scope whose center was
 * archived is not given a new one: the feedback is stored and reported `delivered: false` there.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isUnavailableError, withDependency } from '../../lib/dependencies.ts';
import { AppError, dependencyUnavailable } from '../../lib/errors.ts';
import { FEEDBACK_TEXT_MAX, RATING_MAX, RATING_MIN, scopeOf, type FeedbackEvent, type ParsedScope } from '../../lib/learning/contract.ts';
import { deleteUnstartedCenter, findArchivedCenter, findLiveCenter, insertCenter, type CenterRow } from './center-rows.ts';
import { deliverFeedback, type CenterDeps, type RequestMeta } from './center-workflow.ts';

/** Characters as PostgreSQL's char_length counts them (code points). */
const chars = (s: string) => [...s].length;

export const FeedbackTextSchema = z
  .string()
  .refine((t) => t.trim().length > 0, 'must not be empty or only whitespace')
  .refine((t) => chars(t.trim()) <= FEEDBACK_TEXT_MAX, `at most ${FEEDBACK_TEXT_MAX} characters`)
  .transform((t) => t.trim())
  .meta({ description: `What the user thinks of the clips, 1–${FEEDBACK_TEXT_MAX} characters (trimmed), e.g. "more energy, fewer static shots"` });

export const RatingSchema = z.number().int().min(RATING_MIN).max(RATING_MAX).nullable().optional()
  .meta({ description: `An integer ${RATING_MIN}–${RATING_MAX}` });

export const CenterDeliverySchema = z.object({
  scope: z.string(),
  center_id: z.uuid(),
  delivered: z.boolean(),
  created: z.boolean().meta({ description: 'true: this feedback created the center' }),
  reason: z.enum(['archived', 'unavailable']).optional()
    .meta({ description: 'Why it was not delivered: `archived` (feedback does not revive an archived center), `unavailable` (Temporal could not be reached; the other center got it)' }),
});

export const FeedbackAcceptedSchema = z
  .object({
    id: z.uuid().meta({ description: 'The stored feedback' }),
    kind: z.enum(['music', 'artist']),
    music_id: z.uuid().nullable(),
    artist_id: z.uuid(),
    interpret_with: z.enum(['ai', 'lexicon']).meta({ description: '`ai` when an AI provider is configured (OPENAI_API_KEY), else the built-in lexicon' }),
    centers: z.array(CenterDeliverySchema),
  })
  .meta({ id: 'FeedbackAccepted' });
export type FeedbackAccepted = z.infer<typeof FeedbackAcceptedSchema>;

export interface FeedbackInput {
  kind: 'music' | 'artist';
  tenantId: string;
  authorId: string;
  artistId: string;
  musicId: string | null;
  clipJobId: string | null;
  variant: number | null;
  rating: number | null;
  text: string;
}

const isUnavailable = (err: unknown) => (err instanceof AppError && err.status === 503) || isUnavailableError(err);

interface Target {
  scope: ParsedScope;
  row: CenterRow;
  created: boolean;
  archived: boolean;
}

/** The live center of `scope`, created when the scope never had one; the archived one when it was archived. */
async function targetOf(deps: CenterDeps, tenantId: string, scope: ParsedScope): Promise<Target> {
  const em = deps.em();
  const key = scopeOf(scope);
  const live = await findLiveCenter(em, tenantId, key);
  if (live) return { scope, row: live, created: false, archived: false };
  const archived = await findArchivedCenter(em, tenantId, key);
  if (archived) return { scope, row: archived, created: false, archived: true };
  const inserted = await insertCenter(em, { tenantId, scope, label: 'stable', baselineWeights: deps.config.clips.baselineWeights.weights, createdBy: null });
  if (inserted) return { scope, row: inserted, created: true, archived: false };
  // Created concurrently by another request.
  const raced = await findLiveCenter(em, tenantId, key);
  if (!raced) throw new AppError(409, 'CENTER_BUSY', `The learning center of ${key} changed while the feedback arrived; retry`);
  return { scope, row: raced, created: false, archived: false };
}

/**
 * Stores the feedback and signals it to its centers. When no center could be reached because
 * Temporal is down, nothing is kept (the feedback row and the centers this request created are
 * removed) and the answer is 503, so a retry does not count it twice.
 */
export async function acceptFeedback(deps: CenterDeps, input: FeedbackInput, meta: RequestMeta): Promise<FeedbackAccepted> {
  const id = randomUUID();
  const receivedAt = new Date();
  const em = deps.em();
  await withDependency('postgresql', () => (input.kind === 'music'
    ? em.getConnection().execute(
      `insert into music_feedback (id, tenant_id, music_id, artist_id, clip_job_id, variant, rating, text, created_by, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, input.tenantId, input.musicId, input.artistId, input.clipJobId, input.variant, input.rating, input.text, input.authorId, receivedAt],
    )
    : em.getConnection().execute(
      'insert into artist_feedback (id, tenant_id, artist_id, rating, text, created_by, created_at) values (?, ?, ?, ?, ?, ?, ?)',
      [id, input.tenantId, input.artistId, input.rating, input.text, input.authorId, receivedAt],
    )));

  const scopes: ParsedScope[] = input.kind === 'music'
    ? [{ kind: 'music', musicId: input.musicId! }, { kind: 'artist', artistId: input.artistId }]
    : [{ kind: 'artist', artistId: input.artistId }];
  const event: FeedbackEvent = {
    feedbackId: id,
    kind: input.kind,
    tenantId: input.tenantId,
    musicId: input.musicId,
    artistId: input.artistId,
    clipJobId: input.clipJobId,
    variant: input.variant,
    rating: input.rating,
    authorId: input.authorId,
    interpretWith: deps.config.ai.apiKey ? 'ai' : 'lexicon',
    receivedAt: receivedAt.toISOString(),
  };

  const created: CenterRow[] = [];
  const centers: FeedbackAccepted['centers'] = [];
  let unavailable: unknown = null;
  for (const scope of scopes) {
    if (unavailable && !centers.some((c) => c.delivered)) break; // Temporal is down and nothing got it: answered 503 below
    let target: Target | null = null;
    try {
      target = await targetOf(deps, input.tenantId, scope);
      if (target.created) created.push(target.row);
      const delivery = target.archived ? { delivered: false as const, reason: 'archived' as const } : await deliverFeedback(deps, target.row, event, meta);
      centers.push({
        scope: target.row.scope, center_id: target.row.id, delivered: delivery.delivered, created: target.created && delivery.delivered,
        ...(delivery.delivered ? {} : { reason: delivery.reason }),
      });
    } catch (err) {
      if (!target || !isUnavailable(err)) throw err;
      unavailable = err;
      centers.push({ scope: target.row.scope, center_id: target.row.id, delivered: false, created: false, reason: 'unavailable' });
    }
  }
  if (unavailable && !centers.some((c) => c.delivered)) {
    // Nothing reached a center: keep nothing, so that the client's retry is not counted twice.
    for (const row of created) await deleteUnstartedCenter(em, row);
    await em.getConnection().execute(`delete from ${input.kind}_feedback where id = ? and tenant_id = ?`, [id, input.tenantId]).catch(() => undefined);
    throw dependencyUnavailable('temporal', unavailable);
  }
  return { id, kind: input.kind, music_id: input.musicId, artist_id: input.artistId, interpret_with: event.interpretWith, centers };
}
