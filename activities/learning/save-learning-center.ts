/**
 * saveLearningCenter (main queue): the one writer of a center's rows. The `learningCenter`
 * workflow calls it after every change of state with the new versions and learning events since
 * the last save; it writes, in one transaction:
 * - the versions (`learning_center_versions`, insert-or-ignore on (center, version));
 * - the learning events (`ai_learning_events`, insert-or-ignore on (center, feedback));
 * - the projection (`learning_centers`), only when its revision is newer than the stored one, so a
 *   retried or late save never rolls it back.
 * Idempotent: a retry writes nothing twice.
 */
import { randomUUID } from 'node:crypto';
import type { Orm } from '../../lib/db/orm.ts';
import type { CenterCurrent, CenterVersion, WeightDelta } from '../../lib/learning/contract.ts';

export interface LearningEventRecord {
  feedbackId: string;
  feedbackKind: 'music' | 'artist';
  versionBefore: number;
  versionAfter: number;
  deltas: WeightDelta[];
  source: 'ai' | 'lexicon';
  summary: string;
}

export interface SaveLearningCenterInput {
  current: CenterCurrent;
  newVersions: CenterVersion[];
  events: LearningEventRecord[];
}

export function createSaveLearningCenterActivities(deps: { orm: Orm }) {
  return {
    async saveLearningCenter(input: SaveLearningCenterInput): Promise<{ projectionUpdated: boolean }> {
      const c = input.current;
      return deps.orm.em.fork().transactional(async (tx) => {
        const ctx = tx.getTransactionContext();
        const conn = tx.getConnection();
        for (const v of input.newVersions) {
          await conn.execute(
            `insert into learning_center_versions (center_id, tenant_id, version, weights, label, source, author, reason, reverted_to, created_at)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (center_id, version) do nothing`,
            [c.centerId, c.tenantId, v.version, JSON.stringify(v.weights), v.label, v.source, v.author.slice(0, 200), v.reason, v.revertedTo ?? null, v.createdAt],
            'run', ctx,
          );
        }
        for (const e of input.events) {
          await conn.execute(
            `insert into ai_learning_events (id, tenant_id, center_id, feedback_kind, feedback_id, version_before, version_after, deltas, source, summary)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (center_id, feedback_id) do nothing`,
            [randomUUID(), c.tenantId, c.centerId, e.feedbackKind, e.feedbackId, e.versionBefore, e.versionAfter, JSON.stringify(e.deltas), e.source, e.summary],
            'run', ctx,
          );
        }
        const rows = (await conn.execute(
          `update learning_centers set
             status = ?, label = ?, version = ?, weights = ?, baseline_version = ?, baseline_weights = ?, stable_version = ?, stable_weights = ?,
             feedback_applied = ?, feedback_pending = ?, genre_confirmations = ?, revision = ?, updated_at = now(),
             archived_at = case when ? then coalesce(archived_at, now()) else null end
           where id = ? and tenant_id = ? and revision < ?
           returning id`,
          [c.archived ? 'archived' : c.status, c.label, c.version, JSON.stringify(c.weights), c.baselineVersion, JSON.stringify(c.baselineWeights),
            c.stableVersion, c.stableWeights ? JSON.stringify(c.stableWeights) : null, c.feedbackApplied, c.feedbackPending,
            JSON.stringify(c.genreConfirmations), c.revision, c.archived, c.centerId, c.tenantId, c.revision],
          'all', ctx,
        )) as unknown[];
        return { projectionUpdated: rows.length > 0 };
      });
    },
  };
}

export type SaveLearningCenterActivities = ReturnType<typeof createSaveLearningCenterActivities>;
