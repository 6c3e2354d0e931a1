/**
 * /api/v1/feedback — what users say about the clips of a track or about an artist. The feedback is
 * stored, then signalled (by reference) to the learning centers of its scopes — music feedback to
 * the music's center and its artist's, artist feedback to the artist's — whose `learningCenter`
 * workflows interpret it (AI provider when configured, else the lexicon) and adjust their weights.
 * A scope without a center gets one on its first feedback; an archived center is not revived.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../lib/errors.ts';
import { FEEDBACK_TEXT_MAX, RATING_MAX, RATING_MIN } from '../../lib/learning/contract.ts';
import { currentUser } from '../auth/authenticate.ts';
import { findTenantClipJob } from '../clips/clip-job-view.ts';
import type { ApiDeps } from '../context.ts';
import { acceptFeedback, FeedbackAcceptedSchema, FeedbackTextSchema, RatingSchema } from '../learning/feedback.ts';
import { findTenantArtist } from '../music/find-artist.ts';
import { findTenantMusic } from '../music/find-music.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

const MusicParams = z.object({ musicId: z.string().max(64) });

const MusicFeedbackSchema = z
  .strictObject({
    clip_job_id: z.uuid().nullable().optional().meta({ description: "A clip job of this track (the tenant's)" }),
    variant: z.number().int().min(0).nullable().optional().meta({ description: 'The suggested variant (index ≥ 0) of that clip job' }),
    rating: RatingSchema,
    text: FeedbackTextSchema,
  })
  .refine((b) => b.variant === undefined || b.variant === null || Boolean(b.clip_job_id), { path: ['variant'], message: 'a variant needs its clip_job_id' });

const ArtistFeedbackSchema = z.strictObject({
  artist_id: z.uuid(),
  rating: RatingSchema,
  text: FeedbackTextSchema,
});

const ACCEPTED = { description: 'Stored and signalled: the feedback id and, per center of its scopes, whether it got it', schema: FeedbackAcceptedSchema };
const INVALID = `VALIDATION_FAILED: text empty, only whitespace or over ${FEEDBACK_TEXT_MAX} characters; rating not an integer ${RATING_MIN}–${RATING_MAX}; variant not an integer ≥ 0; unknown fields`;

export function createFeedbackRouter(deps: ApiDeps, registry: ApiRegistry): Router {
  const router = new Router();
  const { config, orm, temporal } = deps;
  const centers = { config, temporal, em: () => orm.em.fork() };

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/feedback/music/:musicId', operationId: 'giveMusicFeedback', tags: ['Learning'], auth: 'user',
    summary: "Feedback on a track's clips: signalled to the music's learning center and its artist's",
    description: `\`{"text", "rating"?: ${RATING_MIN}–${RATING_MAX}, "clip_job_id"?, "variant"?}\`. A center missing for the track or its artist is created by this feedback (label \`stable\`); an archived one is not revived (\`delivered: false\`). Interpreted by the AI provider when OPENAI_API_KEY is set, else by the lexicon ("more energy", "less motion", …).`,
    params: MusicParams,
    body: MusicFeedbackSchema,
    responses: {
      202: ACCEPTED,
      404: { description: "NOT_FOUND: the track or the clip job (also another tenant's, or a clip job of another track)" },
      422: { description: INVALID },
      503: { description: 'DEPENDENCY_UNAVAILABLE: no center could be reached; nothing was kept' },
    },
  }, async (ctx, { params, body }) => {
    const user = currentUser(ctx);
    const em = orm.em.fork();
    const music = await findTenantMusic(em, user.tenantId, params.musicId);
    if (body.clip_job_id) {
      const job = await findTenantClipJob(em, user.tenantId, body.clip_job_id);
      if (job.musicId !== music.id) throw new AppError(404, 'NOT_FOUND', 'Clip job not found for this track');
    }
    const accepted = await acceptFeedback(centers, {
      kind: 'music', tenantId: user.tenantId, authorId: user.id, artistId: music.artistId, musicId: music.id,
      clipJobId: body.clip_job_id ?? null, variant: body.variant ?? null, rating: body.rating ?? null, text: body.text,
    }, ctx.state);
    ctx.state.log.info({ feedbackId: accepted.id, musicId: music.id, centers: accepted.centers }, 'music feedback accepted');
    ctx.status = 202;
    ctx.body = accepted;
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/feedback/artist', operationId: 'giveArtistFeedback', tags: ['Learning'], auth: 'user',
    summary: "Feedback on an artist's clips in general: signalled to the artist's learning center",
    description: `\`{"artist_id", "text", "rating"?: ${RATING_MIN}–${RATING_MAX}}\`. The artist's center is created by its first feedback (label \`stable\`); an archived one is not revived (\`delivered: false\`).`,
    body: ArtistFeedbackSchema,
    responses: {
      202: ACCEPTED,
      404: { description: "NOT_FOUND: the artist (also another tenant's)" },
      422: { description: INVALID },
      503: { description: 'DEPENDENCY_UNAVAILABLE: the center could not be reached; nothing was kept' },
    },
  }, async (ctx, { body }) => {
    const user = currentUser(ctx);
    const artist = await findTenantArtist(orm.em.fork(), user.tenantId, body.artist_id);
    const accepted = await acceptFeedback(centers, {
      kind: 'artist', tenantId: user.tenantId, authorId: user.id, artistId: artist.id, musicId: null,
      clipJobId: null, variant: null, rating: body.rating ?? null, text: body.text,
    }, ctx.state);
    ctx.state.log.info({ feedbackId: accepted.id, artistId: artist.id, centers: accepted.centers }, 'artist feedback accepted');
    ctx.status = 202;
    ctx.body = accepted;
  });

  return router;
}
