/** Request and response schemas shared by the auth and users routes (one source for validation and OpenAPI). */
import { z } from 'zod';
import { ROLES } from '../../entities/index.ts';

export const EmailSchema = z
  .string()
  .trim()
  .max(254, 'at most 254 characters')
  .pipe(z.email('not a valid e-mail address'))
  .transform((e) => e.toLowerCase());

export const NameSchema = z.string().trim().min(1, 'required').max(200, 'at most 200 characters');
export const PasswordSchema = z.string().min(1, 'required').max(4096);
export const TenantSlugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(2)
  .max(63)
  .regex(/^[a-z0-9](-?[a-z0-9])*$/, 'lower-case letters, digits and single dashes');
export const RoleSchema = z.enum(ROLES);

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: RoleSchema,
    tenant_id: z.uuid(),
    is_superuser: z.boolean(),
    is_active: z.boolean(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'User' });

export const TenantSchema = z.object({ id: z.uuid(), slug: z.string(), name: z.string() }).meta({ id: 'Tenant' });

export const TokenPairSchema = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().meta({ description: 'Access token lifetime in seconds' }),
    refresh_expires_in: z.number().int().meta({ description: 'Refresh token lifetime in seconds' }),
  })
  .meta({ id: 'TokenPair' });

export function userView(user: {
  id: string; email: string; name: string; role: (typeof ROLES)[number]; tenantId: string; isSuperuser: boolean; isActive: boolean; createdAt: Date; updatedAt: Date;
}): z.infer<typeof UserSchema> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    tenant_id: user.tenantId,
    is_superuser: user.isSuperuser,
    is_active: user.isActive,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}
