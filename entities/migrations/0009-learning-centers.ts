import { Migration } from '@mikro-orm/migrations';

/**
 * Feedback and learning centers (issue 9). A center is the entity workflow `learningCenter`
 * (id `learning-center-<tenantId>-<scope>`); these tables are what its activities write:
 * - `learning_centers`: the projection the API lists and suggestClipsForJob reads (current and
 *   last stable weights). One live center per (tenant, scope); an archived one keeps its row.
 * - `learning_center_versions`: every version of every center (the workflow keeps the recent ones).
 * - `music_feedback` / `artist_feedback`: what users said, with the interpretation made once
 *   (AI structured output or the lexicon) and reused by every center the feedback reaches.
 * - `ai_learning_events`: one row per adjustment a center applied (version before/after, deltas).
 */
export class Migration0009LearningCenters extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table learning_centers (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        scope varchar(80) not null,
        scope_kind text not null check (scope_kind in ('global', 'artist', 'music')),
        artist_id uuid null references artists (id),
        music_id uuid null references music_assets (id),
        workflow_id varchar(200) not null,
        status text not null default 'active' check (status in ('active', 'paused', 'archived')),
        label text not null default 'stable' check (label in ('stable', 'experimental')),
        version integer not null default 1,
        weights jsonb null,
        baseline_version integer not null default 1,
        baseline_weights jsonb null,
        stable_version integer null,
        stable_weights jsonb null,
        feedback_applied integer not null default 0,
        feedback_pending integer not null default 0,
        genre_confirmations jsonb not null default '{}',
        revision integer not null default 0,
        created_by uuid null references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        archived_at timestamptz null
      )`);
    this.addSql(`create unique index learning_centers_live_scope_idx on learning_centers (tenant_id, scope) where status <> 'archived'`);
    this.addSql('create index learning_centers_tenant_idx on learning_centers (tenant_id, created_at desc, id desc)');

    this.addSql(`
      create table learning_center_versions (
        center_id uuid not null references learning_centers (id) on delete cascade,
        tenant_id uuid not null references tenants (id),
        version integer not null,
        weights jsonb not null,
        label text not null check (label in ('stable', 'experimental')),
        source text not null check (source in ('baseline', 'feedback', 'edit', 'revert')),
        author varchar(200) not null,
        reason text not null,
        reverted_to integer null,
        created_at timestamptz not null,
        primary key (center_id, version)
      )`);

    for (const kind of ['music', 'artist'] as const) {
      this.addSql(`
        create table ${kind}_feedback (
          id uuid primary key,
          tenant_id uuid not null references tenants (id),
          ${kind === 'music' ? 'music_id uuid not null references music_assets (id),' : ''}
          artist_id uuid not null references artists (id),
          ${kind === 'music' ? 'clip_job_id uuid null references clip_jobs (id), variant integer null,' : ''}
          rating smallint null check (rating between 1 and 5),
          text text not null check (char_length(text) between 1 and 5000),
          interpretation jsonb null,
          created_by uuid not null references users (id),
          created_at timestamptz not null default now()
        )`);
      this.addSql(`create index ${kind}_feedback_tenant_idx on ${kind}_feedback (tenant_id, created_at desc, id desc)`);
    }

    this.addSql(`
      create table ai_learning_events (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        center_id uuid not null references learning_centers (id) on delete cascade,
        feedback_kind text not null check (feedback_kind in ('music', 'artist')),
        feedback_id uuid not null,
        version_before integer not null,
        version_after integer not null,
        deltas jsonb not null,
        source text not null check (source in ('ai', 'lexicon')),
        summary text not null default '',
        created_at timestamptz not null default now(),
        unique (center_id, feedback_id)
      )`);
    this.addSql('create index ai_learning_events_center_idx on ai_learning_events (center_id, created_at desc)');
  }

  override async down(): Promise<void> {
    for (const table of ['ai_learning_events', 'artist_feedback', 'music_feedback', 'learning_center_versions', 'learning_centers']) {
      this.addSql(`drop table if exists ${table}`);
    }
  }
}
