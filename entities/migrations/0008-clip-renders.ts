import { Migration } from '@mikro-orm/migrations';

/**
 * Clip renders (issue 8): one row per suggested variant of a clip job, written by the rendering
 * stage of `clipJob` (render → A/V sync check → re-render once → done | failed | failed_sync), and
 * the job's rendering progress (which variant, how many finished, percent of the current one).
 */
export class Migration0008ClipRenders extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table clip_renders (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        clip_job_id uuid not null references clip_jobs (id) on delete cascade,
        index integer not null,
        status text not null default 'pending' check (status in ('pending', 'rendering', 'checking', 'done', 'failed', 'failed_sync', 'cancelled')),
        attempts integer not null default 0,
        bucket varchar(32) null,
        storage_key varchar(1024) null,
        duration_ms integer null,
        size_bytes bigint null,
        loudness_lufs double precision null,
        true_peak_db double precision null,
        sync_deviation_ms double precision null,
        error_code varchar(64) null,
        error_message text null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (clip_job_id, index)
      )`);
    this.addSql('alter table clip_jobs add column rendering_variant integer null');
    this.addSql('alter table clip_jobs add column completed_variants integer not null default 0');
    this.addSql('alter table clip_jobs add column variant_progress integer not null default 0 check (variant_progress between 0 and 100)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists clip_renders');
    for (const column of ['rendering_variant', 'completed_variants', 'variant_progress']) this.addSql(`alter table clip_jobs drop column if exists ${column}`);
  }
}
