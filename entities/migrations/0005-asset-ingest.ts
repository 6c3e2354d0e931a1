import { Migration } from '@mikro-orm/migrations';

/**
 * What the ingest pipeline, the direct uploads, keywords and markers need on top of 0004:
 * - assets: where the original is stored, the last error, and when a soft-deleted asset is purged;
 * - asset_renditions: a stable `name` per rendition (unique per asset, so a retried step replaces
 *   its rendition instead of adding a second one) and free-form metadata (sprite grid, HLS ladder);
 * - asset_ingest_steps: one row per (asset, step) with status, progress, duration and error;
 * - asset_uploads: direct-to-storage upload sessions (presigned PUT or multipart);
 * - asset_keywords and asset_markers (duration_ms is a generated column).
 */
export class Migration0005AssetIngest extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table assets
        add column original_key varchar(1024) null,
        add column error_code varchar(64) null,
        add column error_message text null,
        add column purge_after timestamptz null`);
    this.addSql('create index assets_tenant_deleted_idx on assets (deleted_at) where deleted_at is not null');

    this.addSql(`alter table asset_renditions
        add column name varchar(64) not null,
        add column bucket varchar(32) not null,
        add column metadata jsonb null`);
    this.addSql('create unique index asset_renditions_asset_name_uq on asset_renditions (asset_id, name)');

    this.addSql(`
      create table asset_ingest_steps (
        tenant_id uuid not null references tenants (id),
        asset_id uuid not null,
        step varchar(32) not null,
        status text not null check (status in ('pending', 'running', 'done', 'failed', 'skipped')),
        progress integer not null default 0 check (progress between 0 and 100),
        attempts integer not null default 0,
        started_at timestamptz null,
        finished_at timestamptz null,
        duration_ms bigint null,
        error_code varchar(64) null,
        error_message text null,
        updated_at timestamptz not null default now(),
        primary key (asset_id, step)
      )`);
    this.addSql('create index asset_ingest_steps_tenant_idx on asset_ingest_steps (tenant_id, asset_id)');

    this.addSql(`
      create table asset_uploads (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        user_id uuid not null references users (id),
        asset_id uuid not null,
        filename varchar(255) not null,
        content_type varchar(255) null,
        size_bytes bigint not null check (size_bytes > 0),
        sha256 char(64) null,
        title varchar(300) not null,
        description text null,
        code varchar(64) null,
        priority integer not null default 100,
        allow_duplicate boolean not null default false,
        storage_key varchar(1024) not null,
        multipart_upload_id varchar(1024) null,
        part_size bigint null,
        part_count integer null,
        status text not null default 'pending' check (status in ('pending', 'completed', 'aborted', 'expired')),
        expires_at timestamptz not null,
        created_at timestamptz not null default now(),
        completed_at timestamptz null
      )`);
    this.addSql('create index asset_uploads_tenant_idx on asset_uploads (tenant_id, created_at desc)');
    this.addSql(`create index asset_uploads_expiry_idx on asset_uploads (expires_at) where status = 'pending'`);

    this.addSql(`
      create table asset_keywords (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        asset_id uuid not null,
        keyword varchar(100) not null,
        normalized varchar(100) not null,
        category varchar(64) null,
        confidence numeric(4, 3) null check (confidence between 0 and 1),
        source text not null default 'manual' check (source in ('manual', 'ai', 'import')),
        created_by uuid null references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (asset_id, normalized)
      )`);
    this.addSql('create index asset_keywords_tenant_normalized_idx on asset_keywords (tenant_id, normalized)');

    this.addSql(`
      create table asset_markers (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        asset_id uuid not null,
        type text not null check (type in ('chapter', 'segment', 'highlight', 'comment', 'scene')),
        timecode_in_ms bigint not null check (timecode_in_ms >= 0),
        timecode_out_ms bigint not null,
        duration_ms bigint generated always as (timecode_out_ms - timecode_in_ms) stored,
        title varchar(300) null,
        notes text null,
        source text not null default 'manual' check (source in ('manual', 'ai', 'import', 'detection')),
        created_by uuid null references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        check (timecode_out_ms >= timecode_in_ms)
      )`);
    this.addSql('create index asset_markers_asset_idx on asset_markers (tenant_id, asset_id, timecode_in_ms)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists asset_markers');
    this.addSql('drop table if exists asset_keywords');
    this.addSql('drop table if exists asset_uploads');
    this.addSql('drop table if exists asset_ingest_steps');
    this.addSql('drop index if exists asset_renditions_asset_name_uq');
    this.addSql('alter table asset_renditions drop column name, drop column bucket, drop column metadata');
    this.addSql('alter table assets drop column original_key, drop column error_code, drop column error_message, drop column purge_after');
  }
}
