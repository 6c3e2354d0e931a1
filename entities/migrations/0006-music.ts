import { Migration } from '@mikro-orm/migrations';

/**
 * Music analysis (FALA): artists, uploaded tracks, their analysis (cached by tenant + audio SHA-256
 * + analyzer version), beats, embeddings (a float array; cosine similarity computed in SQL: the
 * server has no pgvector), the genre profiles inference compares against, and AI usage accounting.
 */
export class Migration0006Music extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table artists (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        name varchar(200) not null,
        genres text[] not null default '{}',
        created_by uuid null references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz null
      )`);
    this.addSql('create index artists_tenant_idx on artists (tenant_id, created_at desc, id desc)');

    this.addSql(`
      create table music_assets (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        artist_id uuid not null references artists (id),
        title varchar(300) not null,
        declared_genre varchar(64) null,
        original_filename varchar(255) not null,
        content_type varchar(255) null,
        size_bytes bigint not null,
        sha256 char(64) not null,
        storage_key varchar(1024) not null,
        duration_ms bigint null,
        status text not null default 'queued' check (status in ('queued', 'analyzing', 'done', 'failed')),
        analysis_id uuid null,
        error_code varchar(64) null,
        error_message text null,
        created_by uuid not null references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz null
      )`);
    this.addSql('create index music_assets_tenant_idx on music_assets (tenant_id, created_at desc, id desc)');
    this.addSql('create index music_assets_tenant_sha_idx on music_assets (tenant_id, sha256)');

    this.addSql(`
      create table music_analysis (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        sha256 char(64) not null,
        analyzer_version varchar(32) not null,
        duration_ms bigint not null,
        sample_rate integer not null,
        tempo_bpm double precision null,
        tempo_confidence double precision null,
        tempo_reason text null,
        loudness_lufs double precision null,
        features jsonb not null,
        created_at timestamptz not null default now(),
        unique (tenant_id, sha256, analyzer_version)
      )`);
    this.addSql(`
      create table music_beats (
        analysis_id uuid primary key references music_analysis (id) on delete cascade,
        tenant_id uuid not null references tenants (id),
        beats_ms integer[] not null,
        downbeats_ms integer[] not null,
        onset_peaks_ms integer[] not null default '{}'
      )`);
    this.addSql(`
      create table music_embeddings (
        analysis_id uuid primary key references music_analysis (id) on delete cascade,
        tenant_id uuid not null references tenants (id),
        dimensions integer not null,
        embedding double precision[] not null
      )`);
    this.addSql(`
      create table global_genre_profiles (
        genre varchar(64) primary key,
        analyzer_version varchar(32) not null,
        feature_mean double precision[] not null,
        feature_variance double precision[] not null,
        sample_count integer not null,
        source text not null default 'reference' check (source in ('reference', 'feedback')),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table ai_usage (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        user_id uuid null references users (id),
        music_id uuid null,
        provider varchar(64) not null,
        operation varchar(64) not null,
        model varchar(128) not null,
        status text not null check (status in ('ok', 'error')),
        http_status integer null,
        input_tokens integer null,
        output_tokens integer null,
        audio_seconds double precision null,
        cost_usd numeric(12, 6) not null default 0,
        request_id varchar(128) null,
        error text null,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create index ai_usage_tenant_created_idx on ai_usage (tenant_id, created_at)');
  }

  override async down(): Promise<void> {
    for (const table of ['ai_usage', 'global_genre_profiles', 'music_embeddings', 'music_beats', 'music_analysis', 'music_assets', 'artists']) {
      this.addSql(`drop table if exists ${table}`);
    }
  }
}
