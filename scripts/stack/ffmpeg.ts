/** ffmpeg and ffprobe >= 5: FFMPEG_PATH/FFPROBE_PATH, else PATH, else apt-get (root on Debian). */
import { provision, StackError } from './log.ts';
import { aptInstall, isDebian, isExecutable, isRoot, run, which } from './tools.ts';

export const MIN_FFMPEG_MAJOR = 5;

/**
 * The major version from the first line of `ffmpeg -version` / `ffprobe -version`
 * ("ffmpeg version 5.1.6-0+deb12u1 …", "ffprobe version n6.1 …"); undefined for git builds
 * ("N-112233-g…") and anything unrecognised.
 */
export function parseFfmpegMajor(versionOutput: string): number | undefined {
  const match = /^ff(?:mpeg|probe) version n?(\d+)\.\d+/m.exec(versionOutput);
  return match ? Number(match[1]) : undefined;
}

export interface Ffmpeg {
  ffmpeg: string;
  ffprobe: string;
  version: string;
}

function locate(name: 'ffmpeg' | 'ffprobe', envVar: string): string | undefined {
  const explicit = process.env[envVar];
  if (explicit) {
    const resolved = explicit.includes('/') ? explicit : which(explicit);
    if (!resolved || !isExecutable(resolved)) throw new StackError(`${envVar}=${explicit} is not an executable file`);
    return resolved;
  }
  return which(name);
}

async function check(binary: string): Promise<string> {
  const result = await run(binary, ['-version'], { timeoutMs: 60_000 });
  if (result.code !== 0) throw new StackError(`${binary} -version failed (exit ${result.code})`);
  const firstLine = result.stdout.split('\n')[0] ?? '';
  const major = parseFfmpegMajor(firstLine);
  if (major !== undefined && major < MIN_FFMPEG_MAJOR) {
    throw new StackError(`${binary} is too old (${firstLine}); Moviola needs ffmpeg >= ${MIN_FFMPEG_MAJOR}`);
  }
  return /version (\S+)/.exec(firstLine)?.[1] ?? 'unknown version';
}

export async function provideFfmpeg(): Promise<Ffmpeg> {
  let ffmpeg = locate('ffmpeg', 'FFMPEG_PATH');
  let ffprobe = locate('ffprobe', 'FFPROBE_PATH');
  let how = process.env.FFMPEG_PATH ? 'FFMPEG_PATH' : 'PATH';
  if (!ffmpeg || !ffprobe) {
    if (!isRoot() || !isDebian()) {
      throw new StackError(
        'ffmpeg/ffprobe >= 5 not found: install them (Debian/Ubuntu: sudo apt-get install ffmpeg) ' +
          'or set FFMPEG_PATH and FFPROBE_PATH',
      );
    }
    await aptInstall(['ffmpeg']);
    ffmpeg ??= which('ffmpeg');
    ffprobe ??= which('ffprobe');
    how = 'installed with apt-get';
    if (!ffmpeg || !ffprobe) throw new StackError('apt-get install ffmpeg did not provide ffmpeg and ffprobe');
  }
  const [version] = await Promise.all([check(ffmpeg), check(ffprobe)]);
  provision(`ffmpeg ${version}: ${ffmpeg}, ${ffprobe} (${how})`);
  return { ffmpeg, ffprobe, version };
}
