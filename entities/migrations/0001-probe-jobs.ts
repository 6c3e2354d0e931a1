import { Migration } from '@mikro-orm/migrations';

export class Migration0001ProbeJobs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table probe_jobs (
        id uuid primary key,
        tenant_id varchar(64) not null,
        owner_id varchar(64) not null,
        filename varchar(255) not null,
        content_type varchar(255) null,
        size_bytes bigint not null check (size_bytes >= 0),
        sha256 char(64) not null,
        storage_key varchar(1024) not null,
        workflow_id varchar(255) not null,
        status text not null default 'QUEUED' check (status in ('QUEUED', 'RUNNING', 'DONE', 'FAILED')),
        stage varchar(64) not null default 'queued',
        result jsonb null,
        error_code varchar(64) null,
        error_message text null,
        traceparent varchar(64) null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        started_at timestamptz null,
        completed_at timestamptz null
      )`);
    this.addSql('create index probe_jobs_tenant_created_idx on probe_jobs (tenant_id, created_at desc)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists probe_jobs');
  }
}
