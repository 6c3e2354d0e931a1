import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const AUTH_EVENT_TYPES = [
  'registered',
  'login_succeeded',
  'login_failed',
  'refresh',
  'refresh_reuse_detected',
  'logout',
  'logout_all',
  'password_changed',
  'user_created',
  'user_updated',
  'user_deactivated',
] as const;
export type AuthEventType = (typeof AUTH_EVENT_TYPES)[number];

/** Audit trail of authentication and account events (tenant is null for a login to an unknown tenant). */
export const AuthEvent = defineEntity({
  name: 'AuthEvent',
  tableName: 'auth_events',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid().nullable(),
    userId: p.uuid().nullable(),
    actorId: p.uuid().nullable(),
    eventType: p.enum(AUTH_EVENT_TYPES),
    ipAddress: p.string().length(64).nullable(),
    userAgent: p.string().length(512).nullable(),
    metadata: p.json<Record<string, unknown>>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export type IAuthEvent = InferEntity<typeof AuthEvent>;
