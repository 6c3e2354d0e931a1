/**
 * `node scripts/grant-superuser.ts <tenant-slug> <email> [--revoke]`: makes an existing user a
 * superuser (or takes it back). There is deliberately no API for this.
 */
import { Tenant, User } from '../entities/index.ts';
import { loadConfigOrExit } from '../lib/config.ts';
import { openOrm } from '../lib/db/orm.ts';

const [slug, email, flag] = process.argv.slice(2);
if (!slug || !email || (flag && flag !== '--revoke')) {
  console.error('usage: node scripts/grant-superuser.ts <tenant-slug> <email> [--revoke]');
  process.exit(2);
}
const config = loadConfigOrExit();
const orm = await openOrm({ ...config.database, poolMax: 1 });
try {
  const em = orm.em.fork();
  const tenant = await em.findOne(Tenant, { slug: slug.toLowerCase() });
  const changed = tenant ? await em.nativeUpdate(User, { tenantId: tenant.id, email: email.toLowerCase() }, { isSuperuser: flag !== '--revoke' }) : 0;
  if (changed === 0) {
    console.error(`no user ${email} in tenant ${slug}`);
    process.exitCode = 1;
  } else {
    console.log(`${email} (${slug}) is ${flag === '--revoke' ? 'no longer' : 'now'} a superuser`);
  }
} finally {
  await orm.close();
}
