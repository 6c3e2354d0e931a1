/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
import { loadConfigOrExit } from '../lib/config.ts';
import { migrate, openOrm } from '../lib/db/orm.ts';

const config = loadConfigOrExit();
const orm = await openOrm({ ...config.database, poolMax: 1 });
try {
  const applied = await migrate(orm);
  console.log(applied.length ? `[migrate] applied ${applied.join(', ')}` : '[migrate] schema up to date');
} catch (err) {
  console.error('[migrate] failed:', err);
  process.exitCode = 1;
} finally {
  await orm.close();
}
