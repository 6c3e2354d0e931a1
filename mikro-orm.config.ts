/** MikroORM configuration shared by the API, the workers and `npm run migrate`. */
import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from './entities/index.ts';
import { MIGRATIONS } from './entities/migrations/index.ts';

export function ormConfig(database: { url: string; poolMax: number }) {
  return defineConfig({
    clientUrl: database.url,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: { min: 0, max: database.poolMax },
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    debug: false,
  });
}

export default ormConfig({ url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/moviola', poolMax: 5 });
