import { Migration } from '@mikro-orm/migrations';

const STATUSES = "('UPLOADED', 'QUEUED', 'PROCESSING', 'DONE', 'FAILED', 'CANCELLED', 'EXPIRED')";

export class Migration0003FramesJobs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table jobs (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        owner_id uuid not null references users (id),
        kind varchar(32) not null,
        filename varchar(255) not null,
        content_type varchar(255) null,
        size_bytes bigint not null check (size_bytes >= 0),
        sha256 char(64) not null,
        original_key varchar(1024) not null,
        demuxer varchar(32) not null,
        duration_ms bigint null,
        video_codec varchar(32) null,
        zip_key varchar(1024) null,
        zip_bytes bigint null,
        status text not null check (status in ${STATUSES}),
        stage varchar(64) not null,
        progress integer not null default 0 check (progress between 0 and 100),
        frame_count integer null,
        error_code varchar(64) null,
        error_message text null,
        workflow_id varchar(255) not null,
        run_count integer not null default 1,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        started_at timestamptz null,
        completed_at timestamptz null,
        expires_at timestamptz null
      )`);
    this.addSql('create index jobs_owner_created_idx on jobs (tenant_id, owner_id, created_at desc, id desc)');
    this.addSql(`
      create table job_events (
        id uuid primary key,
        job_id uuid not null references jobs (id) on delete cascade,
        tenant_id uuid not null,
        event_type varchar(64) not null,
        old_status text null check (old_status in ${STATUSES}),
        new_status text null check (new_status in ${STATUSES}),
        metadata jsonb null,
        created_at timestamptz not null default clock_timestamp()
      )`);
    this.addSql('create index job_events_job_idx on job_events (job_id, created_at)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists job_events');
    this.addSql('drop table if exists jobs');
  }
}
