import { Migration } from '@mikro-orm/migrations';

export class Migration0002Accounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table tenants (
        id uuid primary key,
        slug varchar(63) not null unique check (slug ~ '^[a-z0-9](-?[a-z0-9])*$'),
        name varchar(200) not null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table users (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        email varchar(254) not null,
        password_hash varchar(255) not null,
        name varchar(200) not null,
        role text not null check (role in ('admin', 'manager', 'editor', 'viewer', 'user')),
        is_superuser boolean not null default false,
        is_active boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql('create unique index users_tenant_email_uidx on users (tenant_id, lower(email))');
    this.addSql('create index users_tenant_created_idx on users (tenant_id, created_at desc, id desc)');
    this.addSql(`
      create table refresh_tokens (
        id uuid primary key,
        tenant_id uuid not null references tenants (id),
        user_id uuid not null references users (id),
        family_id uuid not null,
        parent_id uuid null references refresh_tokens (id),
        token_hash char(64) not null unique,
        expires_at timestamptz not null,
        used_at timestamptz null,
        revoked_at timestamptz null,
        ip_address varchar(64) null,
        user_agent varchar(512) null,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create index refresh_tokens_family_idx on refresh_tokens (family_id)');
    this.addSql('create index refresh_tokens_user_idx on refresh_tokens (user_id) where revoked_at is null');
    this.addSql(`
      create table auth_events (
        id uuid primary key,
        tenant_id uuid null references tenants (id),
        user_id uuid null references users (id),
        actor_id uuid null references users (id),
        event_type text not null,
        ip_address varchar(64) null,
        user_agent varchar(512) null,
        metadata jsonb null,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create index auth_events_tenant_created_idx on auth_events (tenant_id, created_at desc)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists auth_events');
    this.addSql('drop table if exists refresh_tokens');
    this.addSql('drop table if exists users');
    this.addSql('drop table if exists tenants');
  }
}
