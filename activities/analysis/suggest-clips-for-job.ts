/**
 * suggestClipsForJob (main queue; CPU only): loads the job's video analysis and, with music, the
 * track's beats and the sync found, combines the weights of the learning layers — the global
 * baseline from config (or the tenant's global learning center), then the centers of the job's
 * artist and music, read from the `learning_centers` projection (lib/learning/center-layers.ts:
 * experimental centers only for experimental jobs) — runs lib/clips/suggest and replaces the
 * job's rows in `video_clip_models` in one transaction, so a retry leaves exactly one set. Each
 * row records the center versions used (`weights_version`).
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { ClipMusic, MusicSync, Suggestion, VideoAnalysis, Weights } from '../../lib/clips/contract.ts';
import { suggestClips } from '../../lib/clips/suggest.ts';
import { combineWeightLayers } from '../../lib/clips/weights.ts';
import type { Orm } from '../../lib/db/orm.ts';
import { layersFromCenters, type CenterRow } from '../../lib/learning/center-layers.ts';

export interface SuggestClipsDeps {
  orm: Orm;
  /** The global baseline (config CLIP_WEIGHTS_JSON or the built-in one). */
  baselineWeights: { weights: Weights; version: string };
}

export interface SuggestClipsForJobInput {
  tenantId: string;
  clipJobId: string;
  analysisId: string;
  /** With music: the track and where syncClipMusic found it. */
  music: { musicId: string; sync: MusicSync } | null;
  minLengthMs: number;
  maxLengthMs: number;
}

export function createSuggestClipsActivities(deps: SuggestClipsDeps) {
  return {
    async suggestClipsForJob(input: SuggestClipsForJobInput): Promise<Suggestion[]> {
      const connection = deps.orm.em.getConnection();
      const rows = (await connection.execute(
        'select analysis from video_analysis where id = ? and tenant_id = ?',
        [input.analysisId, input.tenantId],
      )) as Array<{ analysis: VideoAnalysis }>;
      if (!rows[0]) throw ApplicationFailure.nonRetryable('The video analysis is missing', 'ANALYSIS_MISSING');
      const music = input.music ? await loadClipMusic(deps.orm, input.tenantId, input.music.musicId, input.music.sync) : null;
      const learning = await loadJobLearning(deps.orm, input.tenantId, input.clipJobId);
      const centers = layersFromCenters(learning.centers, { experimental: learning.experimental });
      const layers = centers.some((l) => l.name === 'global')
        ? centers
        : [{ name: 'global' as const, version: deps.baselineWeights.version, weights: deps.baselineWeights.weights }, ...centers];
      const { weights, version } = combineWeightLayers(layers);
      const suggestions = suggestClips({
        analysis: rows[0].analysis,
        music,
        minLengthMs: input.minLengthMs,
        maxLengthMs: input.maxLengthMs,
        weights,
        weightsVersion: version,
      });
      await deps.orm.em.fork().transactional(async (tx) => {
        const ctx = tx.getTransactionContext();
        const conn = tx.getConnection();
        await conn.execute('delete from video_clip_models where clip_job_id = ? and tenant_id = ?', [input.clipJobId, input.tenantId], 'run', ctx);
        for (const s of suggestions) {
          await conn.execute(
            `insert into video_clip_models (id, tenant_id, clip_job_id, index, start_ms, end_ms, score, subscores, reasons, music_offset_ms, weights_version)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [randomUUID(), input.tenantId, input.clipJobId, s.index, s.startMs, s.endMs, s.score, JSON.stringify(s.subscores), JSON.stringify(s.reasons),
              s.musicOffsetMs, JSON.stringify(s.weightsVersion)],
            'run', ctx,
          );
        }
      });
      return suggestions;
    },
  };
}

/** Whether the job is experimental, and the live (not archived) global, artist and music centers of its tenant, artist and track. */
async function loadJobLearning(orm: Orm, tenantId: string, clipJobId: string): Promise<{ experimental: boolean; centers: CenterRow[] }> {
  const rows = (await orm.em.getConnection().execute(
    `select j.experimental, c.id, c.scope_kind, c.label, c.version, c.weights, c.baseline_weights, c.stable_version, c.stable_weights
     from clip_jobs j
     left join learning_centers c on c.tenant_id = j.tenant_id and c.status <> 'archived' and c.weights is not null
       and (c.scope = 'global' or c.scope = 'artist-' || j.artist_id::text or c.scope = 'music-' || j.music_id::text)
     where j.id = ? and j.tenant_id = ?`,
    [clipJobId, tenantId],
  )) as Array<{
    experimental: boolean; id: string | null; scope_kind: CenterRow['scopeKind']; label: CenterRow['label']; version: number; weights: Weights;
    baseline_weights: Weights | null; stable_version: number | null; stable_weights: Weights | null;
  }>;
  const centers = rows.flatMap((r) => (r.id === null ? [] : [{
    id: r.id, scopeKind: r.scope_kind, label: r.label, version: r.version, weights: r.weights, baselineWeights: r.baseline_weights ?? r.weights,
    stableVersion: r.stable_version, stableWeights: r.stable_weights,
  }]));
  return { experimental: rows[0]?.experimental === true, centers };
}

async function loadClipMusic(orm: Orm, tenantId: string, musicId: string, sync: MusicSync): Promise<ClipMusic> {
  const rows = (await orm.em.getConnection().execute(
    `select coalesce(a.duration_ms, m.duration_ms) as duration_ms, b.beats_ms, b.downbeats_ms
     from music_assets m
     left join music_analysis a on a.id = m.analysis_id and a.tenant_id = m.tenant_id
     left join music_beats b on b.analysis_id = m.analysis_id and b.tenant_id = m.tenant_id
     where m.id = ? and m.tenant_id = ?`,
    [musicId, tenantId],
  )) as Array<{ duration_ms: string | number | null; beats_ms: number[] | null; downbeats_ms: number[] | null }>;
  if (!rows[0]) throw ApplicationFailure.nonRetryable('The track of the clip job no longer exists', 'MUSIC_MISSING');
  return {
    beatsMs: (rows[0].beats_ms ?? []).map(Number),
    downbeatsMs: (rows[0].downbeats_ms ?? []).map(Number),
    durationMs: Number(rows[0].duration_ms ?? 0),
    sync,
  };
}

export type SuggestClipsActivities = ReturnType<typeof createSuggestClipsActivities>;
