import { Migration } from '@mikro-orm/migrations';
import { createPartitionSql, partitionsAhead } from '../../lib/db/asset-partitions.ts';

/**
 * The asset catalogue's tables. `assets` is partitioned by month on partition_date; this migration
 * creates the partitions of the current month and the next three, and the Temporal Schedule
 * `asset-partitions` (workflow maintainAssetPartitions) keeps creating them ahead of time.
 */
export class Migration0004Assets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table assets (
        id uuid not null,
        tenant_id uuid not null references tenants (id),
        code varchar(64) null,
        title varchar(300) not null,
        description text null,
        type text not null check (type in ('video', 'audio', 'image', 'document')),
        status text not null default 'pending' check (status in ('pending', 'ingesting', 'processing', 'available', 'failed')),
        original_filename varchar(255) not null,
        content_type varchar(255) null,
        size_bytes bigint not null check (size_bytes >= 0),
        sha256 char(64) not null,
        duration_ms bigint null,
        width integer null,
        height integer null,
        fps numeric(8, 3) null,
        video_codec varchar(32) null,
        audio_codec varchar(32) null,
        technical_metadata jsonb null,
        priority integer not null default 100,
        created_by uuid not null references users (id),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz null,
        partition_date date not null default (now() at time zone 'utc')::date,
        primary key (id, partition_date)
      ) partition by range (partition_date)`);
    this.addSql('create index assets_tenant_created_idx on assets (tenant_id, created_at desc, id desc)');
    this.addSql('create index assets_tenant_sha256_idx on assets (tenant_id, sha256)');
    for (const partition of partitionsAhead(new Date(), 3)) this.addSql(createPartitionSql(partition));
    this.addSql(`
      create table asset_renditions (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        asset_id uuid not null,
        purpose text not null check (purpose in ('poster', 'thumbnail', 'sprite', 'proxy', 'hls', 'waveform')),
        storage_key varchar(1024) not null,
        content_type varchar(255) null,
        size_bytes bigint null,
        width integer null,
        height integer null,
        bitrate bigint null,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create index asset_renditions_asset_idx on asset_renditions (tenant_id, asset_id)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists asset_renditions');
    this.addSql('drop table if exists assets cascade');
  }
}
