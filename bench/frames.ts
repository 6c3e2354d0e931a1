/**
 * Frames job: wall time of Moviola's extraction (one ffmpeg → JPEG stream → STORED ZIP stream,
 * `extractFramesToZip`) against the issue's baseline measured in the same run:
 * `ffmpeg -i clip -vf fps=1 frames/%05d.jpg` then `zip -q -r frames.zip frames` (Info-ZIP, deflate).
 * Prints medians, `moviola / baseline` ratios (goal ≤ 0.8), frame counts, whether each frame's
 * source is within one frame of the baseline's, and peak RSS. Not a test: numbers only.
 *
 *   node bench/frames.ts [--rounds N] [--explore] [--no-verify]
 *
 * The clip (10 min, 1280×720, 25 fps, H.264 veryfast + AAC, testsrc2 + sine) is made once and
 * cached in .data/bench/. Moviola's ZIP goes to a file next to it, or into the configured object
 * storage (bucket `exports`) when S3_ENDPOINT is set. `--explore` also times raw ffmpeg decoder
 * options (threads, -skip_frame noref) with the output discarded. See bench/README.md.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import { extractFramesArgs, extractFramesToZip, skipsNonRefFramesFor } from '../lib/ffmpeg/extract-frames.ts';
import { probeMedia } from '../lib/ffmpeg/probe.ts';
import { createStorage } from '../lib/storage/index.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    explore: { type: 'boolean', default: false },
    'no-verify': { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(flags.rounds));
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';
const root = resolve(import.meta.dirname, '..', '.data', 'bench');
const clip = join(root, 'frames-600s-720p25-h264.mp4');
const work = join(root, `frames-run-${process.pid}`);
const CLIP_FPS = 25;

// ------------------------------------------------------------------------------------------------
// processes: exit status, wall time, peak RSS and CPU time sampled from /proc

interface Measured {
  ms: number;
  /** Peak resident set of the child (VmHWM), KiB. */
  peakRssKb: number;
  /** User + system CPU of the child, seconds (sampled every 50 ms: a slight undercount). */
  cpuS: number;
}

function watchProc(pid: number | undefined): { stop(): { peakRssKb: number; cpuS: number } } {
  let peakRssKb = 0;
  let cpuS = 0;
  const sample = async () => {
    if (pid === undefined) return;
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      peakRssKb = Math.max(peakRssKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      cpuS = Math.max(cpuS, (Number(fields[11]) + Number(fields[12])) / 100); // utime, stime in clock ticks (USER_HZ = 100)
    } catch {
      // gone
    }
  };
  const timer = setInterval(() => void sample(), 50);
  void sample();
  return {
    stop() {
      clearInterval(timer);
      return { peakRssKb, cpuS };
    },
  };
}

async function runChild(command: string, args: string[], options: { cwd?: string; stdoutTo?: string } = {}): Promise<Measured> {
  const started = performance.now();
  const out = options.stdoutTo ? await open(options.stdoutTo, 'w') : null;
  const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', out ? out.fd : 'ignore', 'pipe'] });
  const watch = watchProc(child.pid);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  await out?.close();
  const ms = performance.now() - started;
  const proc = watch.stop();
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`);
  return { ms, ...proc };
}

async function capture(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${command} exited with ${code}: ${stderr.slice(-2000)}`);
  return stdout;
}

// ------------------------------------------------------------------------------------------------
// the clip

async function ensureClip(): Promise<void> {
  if (await stat(clip).then((s) => s.size > 0, () => false)) return;
  await mkdir(root, { recursive: true });
  console.log(`making ${clip} (10 min 720p H.264 veryfast; once, a few minutes) …`);
  const tmp = `${clip}.tmp-${process.pid}.mp4`;
  await runChild(FFMPEG, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '600', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-shortest',
    tmp,
  ]);
  await rename(tmp, clip);
}

// ------------------------------------------------------------------------------------------------
// the two contenders

/** Round 0 keeps its frame folder (`framesDir`) for the checks; the others remove theirs. */
async function baseline(round: number): Promise<Measured & { extractMs: number; zipMs: number; frameCount: number; framesDir: string; zipBytes: number }> {
  const dir = join(work, `baseline-${round}`);
  await mkdir(join(dir, 'frames'), { recursive: true });
  const extract = await runChild(FFMPEG, ['-v', 'error', '-i', clip, '-vf', 'fps=1', 'frames/%05d.jpg'], { cwd: dir });
  const zip = await runChild('zip', ['-q', '-r', 'frames.zip', 'frames'], { cwd: dir });
  const frameCount = (await readdir(join(dir, 'frames'))).length;
  const zipBytes = (await stat(join(dir, 'frames.zip'))).size;
  if (round > 0) await rm(dir, { recursive: true, force: true });
  return {
    ms: extract.ms + zip.ms,
    extractMs: extract.ms,
    zipMs: zip.ms,
    peakRssKb: Math.max(extract.peakRssKb, zip.peakRssKb),
    cpuS: extract.cpuS + zip.cpuS,
    frameCount,
    framesDir: join(dir, 'frames'),
    zipBytes,
  };
}

interface Probed {
  demuxer: string;
  durationMs: number | null;
  videoCodec: string | null;
}

const storage = process.env.S3_ENDPOINT ? createStorage(loadConfig().storage) : null;

async function moviola(probed: Probed, exactFrames: boolean, tag: string): Promise<Measured & { frameCount: number; zipBytes: number; zipPath: string | null; nodeCpuS: number }> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const run = extractFramesToZip({
    ffmpegPath: FFMPEG,
    inputPath: clip,
    demuxer: probed.demuxer,
    durationMs: probed.durationMs,
    videoCodec: probed.videoCodec,
    exactFrames,
    timeoutMs: 30 * 60_000,
  });
  const watch = watchProc(run.pid);
  const zipPath = storage ? null : join(work, `moviola-${tag}.zip`);
  const key = `bench/frames-${process.pid}-${tag}.zip`;
  if (storage) await Promise.all([storage.put('exports', key, run.zip, { contentType: 'application/zip' }), run.result]);
  else await pipeline(run.zip, createWriteStream(zipPath!));
  const result = await run.result;
  const ms = performance.now() - started;
  const proc = watch.stop();
  const cpuUsed = process.cpuUsage(cpuBefore);
  if (storage) await storage.delete('exports', key);
  return { ms, ...proc, frameCount: result.frameCount, zipBytes: result.zipBytes, zipPath, nodeCpuS: (cpuUsed.user + cpuUsed.system) / 1e6 };
}

// ------------------------------------------------------------------------------------------------
// checks: same frames?

/** Entries of a (non-ZIP64, STORED) archive, in central-directory order. */
function zipEntries(zip: Buffer): Array<{ name: string; data: Buffer }> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: Array<{ name: string; data: Buffer }> = [];
  for (let i = 0; i < count; i++) {
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const name = zip.toString('ascii', p + 46, p + 46 + nameLen);
    const offset = zip.readUInt32LE(p + 42);
    const start = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28);
    entries.push({ name, data: zip.subarray(start, start + size) });
    p += 46 + nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return entries;
}

/**
 * For each fps=1 output frame under the given decoder options, the index (decode order of the
 * full stream) of the source picture it shows, identified by the MD5 of a 64×36 downscale.
 * Decoding is deterministic, so this is what the timed run with the same options output.
 */
async function sourceIndexes(all: string[], decoderArgs: string[]): Promise<number[]> {
  const picked = parseFramemd5(await capture(FFMPEG, ['-v', 'error', ...decoderArgs, '-i', clip, '-map', '0:v:0', '-vf', 'fps=1,scale=64:36:flags=area', '-f', 'framemd5', '-']));
  const byMd5 = new Map<string, number[]>();
  all.forEach((md5, i) => byMd5.set(md5, [...(byMd5.get(md5) ?? []), i]));
  return picked.map((md5, k) => {
    const candidates = byMd5.get(md5) ?? [];
    if (candidates.length === 0) return Number.NaN;
    return candidates.reduce((best, i) => (Math.abs(i - CLIP_FPS * k) < Math.abs(best - CLIP_FPS * k) ? i : best));
  });
}

function parseFramemd5(text: string): string[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

// ------------------------------------------------------------------------------------------------

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

async function zipVersion(): Promise<string> {
  try {
    return (await capture('zip', ['-v'])).split('\n').find((l) => /This is Zip/.test(l))?.trim() ?? 'zip';
  } catch {
    throw new Error('the baseline zips the frame folder with Info-ZIP `zip`: apt-get install -y zip');
  }
}

const startRss = process.memoryUsage().rss;
await ensureClip();
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
try {
  const zipTool = await zipVersion();
  const probe = await probeMedia(clip, { ffprobePath: FFPROBE, timeoutMs: 60_000 });
  const video = probe.metadata.streams.find((st) => st.type === 'video');
  const probed: Probed = { demuxer: probe.demuxer, durationMs: probe.metadata.duration_ms, videoCodec: video?.codec ?? null };
  const cores = (await readFile('/proc/cpuinfo', 'utf8')).split('\n').filter((l) => l.startsWith('processor')).length;
  console.log(`bench/frames — clip ${clip}`);
  console.log(`  ${video?.width}x${video?.height} ${video?.fps} fps ${video?.codec}, ${(probed.durationMs ?? 0) / 1000} s; ${cores} cores; ${rounds} round(s), medians`);
  console.log(`  baseline: ffmpeg -i clip -vf fps=1 frames/%05d.jpg; then zip -q -r (${zipTool}, deflate) — both timed`);
  console.log(`  moviola:  extractFramesToZip → ${storage ? 'object storage (S3_ENDPOINT)' : 'a file'}, timed from start to result`);
  console.log(`  moviola default decodes with ${skipsNonRefFramesFor(probed.videoCodec) ? '-skip_frame noref (H.264)' : 'every frame'}; "exact" always decodes every frame\n`);

  const times = { baseline: [] as number[], exact: [] as number[], fast: [] as number[] };
  const cpu = { baseline: [] as number[], exact: [] as number[], fast: [] as number[] };
  const nodeCpu = { exact: [] as number[], fast: [] as number[] };
  let base: Awaited<ReturnType<typeof baseline>> | undefined;
  let exact: Awaited<ReturnType<typeof moviola>> | undefined;
  let fast: Awaited<ReturnType<typeof moviola>> | undefined;
  const baseParts = { extract: [] as number[], zip: [] as number[] };
  let childPeak = { baseline: 0, exact: 0, fast: 0 };
  for (let r = 0; r < rounds; r++) {
    // Interleaved, and the order rotated each round, so that drifting load on a shared machine
    // hits every contender alike.
    const runs = [() => baseline(r), () => moviola(probed, true, 'exact'), () => moviola(probed, false, 'default')] as const;
    const order = [0, 1, 2].map((i) => (i + r) % 3);
    const got: unknown[] = [];
    for (const i of order) got[i] = await runs[i]!();
    const [b, e, f] = got as [Awaited<ReturnType<typeof baseline>>, Awaited<ReturnType<typeof moviola>>, Awaited<ReturnType<typeof moviola>>];
    if (r === 0) [base, exact, fast] = [b, e, f];
    times.baseline.push(b.ms);
    times.exact.push(e.ms);
    times.fast.push(f.ms);
    cpu.baseline.push(b.cpuS);
    cpu.exact.push(e.cpuS);
    cpu.fast.push(f.cpuS);
    nodeCpu.exact.push(e.nodeCpuS);
    nodeCpu.fast.push(f.nodeCpuS);
    baseParts.extract.push(b.extractMs);
    baseParts.zip.push(b.zipMs);
    childPeak = { baseline: Math.max(childPeak.baseline, b.peakRssKb), exact: Math.max(childPeak.exact, e.peakRssKb), fast: Math.max(childPeak.fast, f.peakRssKb) };
    console.log(`  round ${r + 1}: baseline ${s(b.ms)} (extract ${s(b.extractMs)} + zip ${s(b.zipMs)}), moviola exact ${s(e.ms)}, moviola default ${s(f.ms)}`);
  }
  const mb0 = median(times.baseline);
  console.log('');
  console.log('  contender                                   wall (median)   ratio   ffmpeg CPU   ffmpeg peak RSS   frames   ZIP');
  const row = (name: string, ms: number, cpuS: number, peak: number, frames: number, zipBytes: number) =>
    console.log(`  ${name.padEnd(44)}${s(ms).padStart(13)}   ${(ms / mb0).toFixed(2).padStart(5)}   ${`${cpuS.toFixed(1)} s`.padStart(10)}   ${mb(peak).padStart(15)}   ${String(frames).padStart(6)}   ${mb(zipBytes / 1024)}`);
  const timedPeakRss = process.resourceUsage().maxRSS;
  row('baseline (frames/%05d.jpg + zip -q -r)', mb0, median(cpu.baseline), childPeak.baseline, base!.frameCount, base!.zipBytes);
  row('moviola exact (every frame decoded)', median(times.exact), median(cpu.exact), childPeak.exact, exact!.frameCount, exact!.zipBytes);
  row(`moviola default${skipsNonRefFramesFor(probed.videoCodec) ? ' (-skip_frame noref)' : ''}`, median(times.fast), median(cpu.fast), childPeak.fast, fast!.frameCount, fast!.zipBytes);
  console.log(`  Node CPU during the moviola runs (split + CRC + ZIP + write, and this bench's /proc sampling): exact ${median(nodeCpu.exact).toFixed(2)} s, default ${median(nodeCpu.fast).toFixed(2)} s`);
  console.log(`  baseline split: extract ${s(median(baseParts.extract))} + zip ${s(median(baseParts.zip))}`);
  console.log(`  moviola / baseline: exact ${(median(times.exact) / mb0).toFixed(2)}, default ${(median(times.fast) / mb0).toFixed(2)} (goal ≤ 0.80)`);

  if (!flags['no-verify']) {
    console.log('\n  same frames? (not timed)');
    const names = (await readdir(base!.framesDir)).sort();
    const baseFrames = await Promise.all(names.map((n) => readFile(join(base!.framesDir, n))));
    for (const [name, m] of [['exact', exact!], ['default', fast!]] as const) {
      if (!m.zipPath) {
        console.log(`  ${name}: ZIP went to object storage; byte comparison skipped`);
        continue;
      }
      const entries = zipEntries(await readFile(m.zipPath));
      const ordered = entries.every((e, i) => e.name === `frame_${String(i + 1).padStart(5, '0')}.jpg`);
      const identical = entries.filter((e, i) => baseFrames[i] && e.data.equals(baseFrames[i]!)).length;
      console.log(`  ${name}: ${entries.length} entries, names in order ${ordered ? 'yes' : 'NO'}, ${identical}/${baseFrames.length} byte-identical to the baseline's JPEGs`);
    }
    const all = parseFramemd5(await capture(FFMPEG, ['-v', 'error', '-i', clip, '-map', '0:v:0', '-vf', 'scale=64:36:flags=area', '-f', 'framemd5', '-']));
    const reference = await sourceIndexes(all, []);
    const decoderOf = (skip: boolean) => {
      const args = extractFramesArgs({ inputPath: clip, demuxer: probed.demuxer, skipNonRefFrames: skip });
      return args.slice(args.indexOf('-protocol_whitelist'), args.indexOf('-i'));
    };
    for (const [name, skip] of [['exact', false], ['default', !!skipsNonRefFramesFor(probed.videoCodec)]] as const) {
      const ours = await sourceIndexes(all, decoderOf(skip));
      const deltas = new Map<string, number>();
      ours.forEach((i, k) => {
        const key = Number.isNaN(i) || reference[k] === undefined ? 'unmatched' : String(i - reference[k]!);
        deltas.set(key, (deltas.get(key) ?? 0) + 1);
      });
      const within = ours.length === reference.length && [...deltas.keys()].every((d) => d !== 'unmatched' && Math.abs(Number(d)) <= 1);
      const histogram = [...deltas].sort(([a], [b]) => Number(a) - Number(b)).map(([d, n]) => `${d === 'unmatched' ? d : `${Number(d) > 0 ? '+' : ''}${d} frame`}: ${n}`).join(', ');
      console.log(`  ${name}: source frame vs baseline's (${1000 / CLIP_FPS} ms per frame) — ${histogram} → within one frame: ${within ? 'yes' : 'NO'}`);
    }
    console.log(`  (method: the fps=1 output under each decoder option set is matched, by MD5 of a 64x36 downscale, to the full decode's pictures)`);
  }

  if (flags.explore) {
    console.log('\n  decoder options, ffmpeg alone (image2pipe → /dev/null), same frames filter; wall / CPU:');
    const baseArgs = extractFramesArgs({ inputPath: clip, demuxer: probed.demuxer }).filter((a, i, all) => a !== '-progress' && all[i - 1] !== '-progress');
    const variants: Array<[string, string[]]> = [
      ['default threads', []],
      ['-threads 1', ['-threads', '1']],
      ['-threads 2', ['-threads', '2']],
      ['-threads 4', ['-threads', '4']],
      ['-threads 6', ['-threads', '6']],
      ['-skip_frame noref', ['-skip_frame', 'noref']],
      ['-skip_frame noref -threads 4', ['-skip_frame', 'noref', '-threads', '4']],
    ];
    const results = new Map<string, { ms: number[]; cpu: number[] }>();
    for (let r = 0; r < rounds; r++) {
      for (const [name, extra] of variants) {
        const args = [...baseArgs];
        args.splice(args.indexOf('-f', args.indexOf('-protocol_whitelist')), 0, ...extra);
        const m = await runChild(FFMPEG, args, { stdoutTo: '/dev/null' });
        const entry = results.get(name) ?? { ms: [], cpu: [] };
        entry.ms.push(m.ms);
        entry.cpu.push(m.cpuS);
        results.set(name, entry);
      }
    }
    for (const [name, { ms, cpu: c }] of results) {
      console.log(`  ${name.padEnd(30)} ${s(median(ms)).padStart(9)}  ${(median(ms) / mb0).toFixed(2)} of baseline   CPU ${median(c).toFixed(1)} s`);
    }
  }
  console.log(`\n  peak RSS of this Node process (moviola's side: JPEG split + ZIP + write) over the timed runs: ${mb(timedPeakRss)} (${mb(startRss / 1024)} of it before any work: Node + imports)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
