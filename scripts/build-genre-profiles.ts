/**
 * Builds lib/audio/genre-reference-profiles.json, the seed of `global_genre_profiles`: renders the
 * "profile" split of the genre reference set (scripts/genre-reference-set.ts: fluidsynth +
 * FluidR3 GM), analyses every track with analyzeMusicPcm, and folds the embeddings of each genre
 * into a profile (Welford mean and population variance, as feedback will later update them).
 *
 *   node scripts/build-genre-profiles.ts              # write the JSON
 *   node scripts/build-genre-profiles.ts --evaluate   # also render the held-out split and print accuracy
 *   node scripts/build-genre-profiles.ts --raw-stats  # print each raw feature's mean / std (to calibrate embedding.ts)
 *
 * Needs `fluidsynth` on PATH and /usr/share/sounds/sf2/FluidR3_GM.sf2 (Debian: fluidsynth,
 * fluid-soundfont-gm). Re-run after any change to an analyser, then bump ANALYZER_VERSION.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ANALYSIS_SAMPLE_RATE, ANALYZER_VERSION, type GenreProfile } from '../lib/audio/analysis.ts';
import { analyzeMusicPcm } from '../lib/audio/analyze-music.ts';
import { EMBEDDING_FEATURES, rawEmbeddingFeatures } from '../lib/audio/embedding.ts';
import { computeFrameFeatures, summarizeFeatures } from '../lib/audio/features.ts';
import { emptyProfile, inferGenre, updateProfile } from '../lib/audio/genre.ts';
import { stft } from '../lib/audio/spectrogram.ts';
import {
  DEFAULT_SOUNDFONT,
  fluidsynthAvailable,
  PROFILE_TRACKS_PER_GENRE,
  REFERENCE_GENRES,
  referenceTracks,
  renderTrack,
  type ReferenceTrack,
} from './genre-reference-set.ts';

export const PROFILES_PATH = fileURLToPath(new URL('../lib/audio/genre-reference-profiles.json', import.meta.url));

export interface GenreReferenceProfiles {
  analyzerVersion: string;
  features: readonly string[];
  reference: { tracksPerGenre: number; secondsPerTrack: number; soundfont: string; generator: string };
  /**
   * The embedding of the first reference track when the profiles were built: the unit tests render
   * and analyse it again, and a different embedding means the profiles are stale.
   */
  check: { trackId: string; seed: number; genre: string; seconds: number; embedding: number[] };
  profiles: GenreProfile[];
}

export interface AnalysedTrack {
  track: ReferenceTrack;
  embedding: number[];
  raw: number[];
  tempoBpm: number | null;
  analysisMs: number;
}

/** Renders and analyses tracks, two renders in flight while the previous track is analysed. */
export async function analyseTracks(tracks: readonly ReferenceTrack[], onTrack?: (t: AnalysedTrack) => void): Promise<AnalysedTrack[]> {
  const out: AnalysedTrack[] = [];
  const renders = tracks.map(() => null as Promise<Float32Array> | null);
  const start = (i: number) => {
    if (i < tracks.length && !renders[i]) renders[i] = renderTrack(tracks[i], { sampleRate: ANALYSIS_SAMPLE_RATE });
  };
  start(0);
  start(1);
  for (let i = 0; i < tracks.length; i++) {
    const pcm = await renders[i]!;
    renders[i] = null;
    start(i + 2);
    const t0 = performance.now();
    const result = analyzeMusicPcm(pcm, ANALYSIS_SAMPLE_RATE);
    const analysisMs = performance.now() - t0;
    const spec = stft(pcm, ANALYSIS_SAMPLE_RATE);
    const raw = rawEmbeddingFeatures(summarizeFeatures(computeFrameFeatures(pcm, spec)), result.rhythm);
    const analysed = { track: tracks[i], embedding: result.embedding, raw, tempoBpm: result.rhythm.tempoBpm, analysisMs };
    onTrack?.(analysed);
    out.push(analysed);
  }
  return out;
}

/** One profile per genre (in REFERENCE_GENRES order), folded with updateProfile. */
export function buildProfiles(analysed: readonly AnalysedTrack[]): GenreProfile[] {
  return REFERENCE_GENRES.map((genre) => {
    let profile = emptyProfile(genre, EMBEDDING_FEATURES.length);
    for (const a of analysed) if (a.track.genre === genre) profile = updateProfile(profile, a.embedding);
    return {
      genre,
      mean: profile.mean.map((v) => round(v, 6)),
      variance: profile.variance.map((v) => round(v, 8)),
      sampleCount: profile.sampleCount,
    };
  });
}

/** Top-1 accuracy of inferGenre over analysed tracks, with the confusions. */
export function accuracy(analysed: readonly AnalysedTrack[], profiles: GenreProfile[]): { accuracy: number; misses: string[] } {
  let hits = 0;
  const misses: string[] = [];
  for (const a of analysed) {
    const guess = inferGenre(a.embedding, profiles);
    if (guess.inferred === a.track.genre) hits++;
    else misses.push(`${a.track.id} → ${guess.inferred} (${guess.score})`);
  }
  return { accuracy: analysed.length ? hits / analysed.length : 0, misses };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  if (!fluidsynthAvailable()) {
    console.error(`build-genre-profiles: needs fluidsynth on PATH and ${DEFAULT_SOUNDFONT} (apt-get install fluidsynth fluid-soundfont-gm)`);
    process.exit(1);
  }
  const tracks = referenceTracks('profile');
  const t0 = performance.now();
  const analysed = await analyseTracks(tracks, (a) =>
    console.log(`${a.track.id.padEnd(18)} tempo ${String(a.tempoBpm).padEnd(6)} analysis ${a.analysisMs.toFixed(0)} ms`),
  );
  const profiles = buildProfiles(analysed);
  const doc: GenreReferenceProfiles = {
    analyzerVersion: ANALYZER_VERSION,
    features: EMBEDDING_FEATURES,
    reference: {
      tracksPerGenre: PROFILE_TRACKS_PER_GENRE,
      secondsPerTrack: tracks[0].seconds,
      soundfont: 'FluidR3_GM.sf2',
      generator: 'scripts/genre-reference-set.ts',
    },
    check: { trackId: tracks[0].id, seed: tracks[0].seed, genre: tracks[0].genre, seconds: tracks[0].seconds, embedding: analysed[0].embedding },
    profiles,
  };
  await writeFile(PROFILES_PATH, JSON.stringify(doc, null, 1) + '\n');
  console.log(`wrote ${PROFILES_PATH}: ${profiles.length} genres × ${PROFILE_TRACKS_PER_GENRE} tracks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`resubstitution accuracy ${accuracy(analysed, profiles).accuracy.toFixed(3)}`);

  if (args.has('--raw-stats')) {
    EMBEDDING_FEATURES.forEach((name, i) => {
      const xs = analysed.map((a) => a.raw[i]).filter(Number.isFinite);
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
      console.log(`${name.padEnd(18)} mean ${mean.toPrecision(4).padStart(10)} std ${std.toPrecision(4).padStart(10)}`);
    });
  }
  if (args.has('--evaluate')) {
    const heldOut = await analyseTracks(referenceTracks('heldout'));
    const { accuracy: acc, misses } = accuracy(heldOut, profiles);
    console.log(`held-out top-1 accuracy ${acc.toFixed(3)} (${heldOut.length} tracks)${misses.length ? '; misses: ' + misses.join(', ') : ''}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
