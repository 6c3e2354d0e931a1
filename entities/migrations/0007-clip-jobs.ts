import { Migration } from '@mikro-orm/migrations';

/**
 * Clip jobs (FALA): the job projection (workflow `clipJob`, id `clip-<id>`), the video it works on
 * (`video_ingests`), the video analysis cached by (tenant, SHA-256, analyzer version)
 * (`video_analysis`, written by the child workflow `analyzeVideo`) and the suggested clips
 * (`video_clip_models`).
 */
export class Migration0007ClipJobs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table video_analysis (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        sha256 char(64) not null,
        analyzer_version varchar(32) not null,
        duration_ms bigint not null,
        analysis jsonb not null,
        created_at timestamptz not null default now(),
        unique (tenant_id, sha256, analyzer_version)
      )`);
    this.addSql(`
      create table clip_jobs (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        artist_id uuid not null references artists (id),
        music_id uuid null references music_assets (id),
        video_asset_id uuid null,
        status text not null default 'queued' check (status in ('queued', 'analyzing', 'rendering', 'done', 'failed', 'cancelled')),
        stage varchar(64) not null default 'queued',
        progress integer not null default 0 check (progress between 0 and 100),
        min_length_ms integer not null,
        max_length_ms integer not null,
        vertical boolean not null default false,
        experimental boolean not null default false,
        music_offset_ms integer null,
        music_sync jsonb null,
        error_code varchar(64) null,
        error_message text null,
        created_by uuid not null references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        completed_at timestamptz null,
        check (min_length_ms > 0 and min_length_ms <= max_length_ms)
      )`);
    this.addSql('create index clip_jobs_tenant_idx on clip_jobs (tenant_id, created_at desc, id desc)');
    this.addSql(`
      create table video_ingests (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        clip_job_id uuid not null references clip_jobs (id) on delete cascade,
        source text not null check (source in ('asset', 'upload')),
        asset_id uuid null,
        bucket varchar(32) not null,
        storage_key varchar(1024) not null,
        original_filename varchar(255) not null,
        sha256 char(64) not null,
        size_bytes bigint not null,
        demuxer varchar(32) not null,
        duration_ms bigint not null,
        width integer null,
        height integer null,
        has_audio boolean not null,
        analysis_id uuid null references video_analysis (id),
        created_at timestamptz not null default now(),
        unique (clip_job_id)
      )`);
    this.addSql(`
      create table video_clip_models (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        clip_job_id uuid not null references clip_jobs (id) on delete cascade,
        index integer not null,
        start_ms integer not null,
        end_ms integer not null,
        score double precision not null,
        subscores jsonb not null,
        reasons jsonb not null,
        music_offset_ms integer null,
        weights_version jsonb not null,
        created_at timestamptz not null default now(),
        unique (clip_job_id, index),
        check (end_ms > start_ms)
      )`);
  }

  override async down(): Promise<void> {
    for (const table of ['video_clip_models', 'video_ingests', 'clip_jobs', 'video_analysis']) this.addSql(`drop table if exists ${table}`);
  }
}
