/**
 * The reference genre profiles (lib/audio/genre-reference-profiles.json, built by
 * scripts/build-genre-profiles.ts from a reference set) seeded into `global_genre_profiles` after
 * every migration run. A profile of the same analyzer version that feedback has updated
 * (source 'feedback') is kept; one of another version is replaced, since its features differ.
 */
import { readFile } from 'node:fs/promises';
import type { EntityManager } from '@mikro-orm/core';

interface ReferenceFile {
  analyzerVersion: string;
  features: string[];
  profiles: Array<{ genre: string; mean: number[]; variance: number[]; sampleCount: number }>;
}

const REFERENCE = new URL('../audio/genre-reference-profiles.json', import.meta.url);

const array = (values: number[]) => `{${values.join(',')}}`;

export async function seedGenreProfiles(em: EntityManager): Promise<number> {
  const reference = JSON.parse(await readFile(REFERENCE, 'utf8')) as ReferenceFile;
  const connection = em.getConnection();
  let written = 0;
  for (const p of reference.profiles) {
    if (p.mean.length !== reference.features.length || p.variance.length !== reference.features.length) {
      throw new Error(`genre profile ${p.genre}: ${p.mean.length}/${p.variance.length} values for ${reference.features.length} features`);
    }
    const rows = (await connection.execute(
      `insert into global_genre_profiles (genre, analyzer_version, feature_mean, feature_variance, sample_count, source, updated_at)
       values (?, ?, ?::double precision[], ?::double precision[], ?, 'reference', now())
       on conflict (genre) do update set analyzer_version = excluded.analyzer_version, feature_mean = excluded.feature_mean,
         feature_variance = excluded.feature_variance, sample_count = excluded.sample_count, source = 'reference', updated_at = now()
       where global_genre_profiles.analyzer_version <> excluded.analyzer_version
          or (global_genre_profiles.source = 'reference' and (global_genre_profiles.feature_mean <> excluded.feature_mean or global_genre_profiles.feature_variance <> excluded.feature_variance))
       returning genre`,
      [p.genre, reference.analyzerVersion, array(p.mean), array(p.variance), p.sampleCount],
    )) as unknown[];
    written += rows.length;
  }
  return written;
}
