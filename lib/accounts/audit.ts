/** Appends authentication and account events to `auth_events`. */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { AuthEvent, type AuthEventType } from '../../entities/index.ts';

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface AuthEventInput {
  type: AuthEventType;
  tenantId: string | null;
  userId?: string | null;
  actorId?: string | null;
  client: ClientInfo;
  metadata?: Record<string, unknown>;
}

export async function recordAuthEvent(em: EntityManager, event: AuthEventInput): Promise<void> {
  await em.insert(AuthEvent, {
    id: randomUUID(),
    tenantId: event.tenantId,
    userId: event.userId ?? null,
    actorId: event.actorId ?? null,
    eventType: event.type,
    ipAddress: event.client.ip?.slice(0, 64) ?? null,
    userAgent: event.client.userAgent?.slice(0, 512) ?? null,
    metadata: event.metadata ?? null,
  });
}
