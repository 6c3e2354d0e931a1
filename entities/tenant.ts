import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const Tenant = defineEntity({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    id: p.uuid().primary(),
    slug: p.string().length(63).unique(),
    name: p.string().length(200),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export type ITenant = InferEntity<typeof Tenant>;
