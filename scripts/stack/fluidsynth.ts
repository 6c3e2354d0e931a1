/**
 * fluidsynth and a General MIDI soundfont, which the beat-accuracy tests use to render their MIDI
 * ground truth (test/support/audio-truth.ts): FLUIDSYNTH_PATH / SOUNDFONT_PATH, else PATH and
 * Debian's soundfont path, else apt-get (root on Debian: `fluidsynth`, `fluid-soundfont-gm`).
 */
import { existsSync, statSync } from 'node:fs';
import { provision, StackError } from './log.ts';
import { aptInstall, isDebian, isExecutable, isRoot, run, which } from './tools.ts';

/** Where Debian's fluid-soundfont-gm puts the FluidR3 General MIDI soundfont. */
export const DEBIAN_GM_SOUNDFONT = '/usr/share/sounds/sf2/FluidR3_GM.sf2';

export interface Fluidsynth {
  fluidsynth: string;
  soundfont: string;
  version: string;
}

/** The version from `fluidsynth --version` ("FluidSynth runtime version 2.3.1"); undefined if unrecognised. */
export function parseFluidsynthVersion(output: string): string | undefined {
  return /FluidSynth (?:runtime )?version (\d+\.\d+(?:\.\d+)?)/i.exec(output)?.[1];
}

function locateBinary(): string | undefined {
  const explicit = process.env.FLUIDSYNTH_PATH;
  if (explicit) {
    const resolved = explicit.includes('/') ? explicit : which(explicit);
    if (!resolved || !isExecutable(resolved)) throw new StackError(`FLUIDSYNTH_PATH=${explicit} is not an executable file`);
    return resolved;
  }
  return which('fluidsynth');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function locateSoundfont(): string | undefined {
  const explicit = process.env.SOUNDFONT_PATH;
  if (explicit) {
    if (!isFile(explicit)) throw new StackError(`SOUNDFONT_PATH=${explicit} is not a file`);
    return explicit;
  }
  return isFile(DEBIAN_GM_SOUNDFONT) ? DEBIAN_GM_SOUNDFONT : undefined;
}

export async function provideFluidsynth(): Promise<Fluidsynth> {
  let fluidsynth = locateBinary();
  let soundfont = locateSoundfont();
  let how = process.env.FLUIDSYNTH_PATH ? 'FLUIDSYNTH_PATH' : 'PATH';
  if (!fluidsynth || !soundfont) {
    const packages = [...(fluidsynth ? [] : ['fluidsynth']), ...(soundfont ? [] : ['fluid-soundfont-gm'])];
    if (!isRoot() || !isDebian()) {
      throw new StackError(
        `${packages.join(' and ')} not found: the beat-accuracy tests render MIDI with fluidsynth and a General MIDI ` +
          `soundfont (Debian/Ubuntu: sudo apt-get install ${packages.join(' ')}), or set FLUIDSYNTH_PATH and SOUNDFONT_PATH`,
      );
    }
    await aptInstall(packages);
    fluidsynth ??= which('fluidsynth');
    soundfont ??= existsSync(DEBIAN_GM_SOUNDFONT) ? DEBIAN_GM_SOUNDFONT : undefined;
    how = 'installed with apt-get';
    if (!fluidsynth || !soundfont) throw new StackError(`apt-get install ${packages.join(' ')} did not provide fluidsynth and ${DEBIAN_GM_SOUNDFONT}`);
  }
  const result = await run(fluidsynth, ['--version'], { timeoutMs: 60_000 });
  if (result.code !== 0) throw new StackError(`${fluidsynth} --version failed (exit ${result.code})`);
  const version = parseFluidsynthVersion(result.stdout + result.stderr) ?? 'unknown version';
  provision(`fluidsynth ${version}: ${fluidsynth}, soundfont ${soundfont} (${how})`);
  return { fluidsynth, soundfont, version };
}
