import { seedGenreProfiles } from './genre-profiles.ts';
import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from '../../mikro-orm.config.ts';

export type Orm = MikroORM;

/** MikroORM 7 connects on the first query, so a process starts (and reports not-ready) while PostgreSQL is down. */
export function openOrm(database: { url: string; poolMax: number }): Promise<Orm> {
  return MikroORM.init(ormConfig(database));
}

/** Applies pending migrations, then brings the seeded reference data (genre profiles) up to date. */
export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.migrator.up();
  await seedGenreProfiles(orm.em.fork());
  return applied.map((m) => m.name);
}
