import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** Highest first: a role includes the rights of the roles after it. */
export const ROLES = ['admin', 'manager', 'editor', 'viewer', 'user'] as const;
export type Role = (typeof ROLES)[number];

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    email: p.string().length(254),
    passwordHash: p.string().length(255).hidden(),
    name: p.string().length(200),
    role: p.enum(ROLES),
    isSuperuser: p.boolean().default(false),
    isActive: p.boolean().default(true),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export type IUser = InferEntity<typeof User>;
