/**
 * Burst: 100 uploads of a 10 s clip started at once against the running stack (`npm start`).
 * Prints accepted / DONE / lost / duplicated counts (goal 100 / 100 / 0 / 0) and
 * makespan / (one job's time × 100 / cores), the baseline being one job alone measured first in
 * the same run (goal ≤ 1.15).
 *
 *   npm start                                  # in another terminal
 *   node bench/burst.ts [uploads=100]          # BENCH_API_URL defaults to http://localhost:3000
 *
 * The uploads come from 10 users of one tenant, so the default per-user limits (20 uploads and
 * 100 requests a minute) are not what is measured.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const api = `${process.env.BENCH_API_URL ?? 'http://localhost:3000'}/api/v1`;
const uploads = Number(process.argv[2] ?? 100);
const USERS = 10;
const password = 'Correct-Horse-9';

async function json(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

function clip(): Buffer {
  mkdirSync('.data/bench', { recursive: true });
  const path = '.data/bench/burst-10s.mp4';
  if (!existsSync(path)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '10',
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', path]);
  }
  return readFileSync(path);
}

async function upload(bytes: Buffer, token: string): Promise<{ status: number; ids: string[] }> {
  const form = new FormData();
  form.append('file', new Blob([bytes]), 'burst.mp4');
  const res = await fetch(`${api}/videos/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => null)) as Array<{ job_id: string }> | null;
  return { status: res.status, ids: res.status === 202 && Array.isArray(body) ? body.map((j) => j.job_id) : [] };
}

/** Every job of the user: id → status. */
async function jobsOf(token: string): Promise<Map<string, string>> {
  const jobs = new Map<string, string>();
  let cursor: string | null = null;
  do {
    const page: { body: { items: Array<{ job_id: string; status: string }>; next_cursor: string | null } } = await json('GET', `/videos?limit=100${cursor ? `&cursor=${cursor}` : ''}`, undefined, token);
    for (const j of page.body.items) jobs.set(j.job_id, j.status);
    cursor = page.body.next_cursor;
  } while (cursor);
  return jobs;
}

const terminal = new Set(['DONE', 'FAILED', 'CANCELLED', 'EXPIRED']);

async function waitAll(tokens: string[], ids: Set<string>, timeoutMs: number): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = new Map<string, string>();
    for (const token of tokens) for (const [id, status] of await jobsOf(token)) all.set(id, status);
    const finished = [...ids].filter((id) => terminal.has(all.get(id) ?? ''));
    if (finished.length === ids.size || Date.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 250)); // fine-grained: the baseline is a few seconds long
  }
}

const bytes = clip();
const tenant = `burst-${randomBytes(4).toString('hex')}`;
const admin = `admin@${tenant}.example`;
const reg = await json('POST', '/auth/register', { tenant, email: admin, password, name: 'Burst' });
if (reg.status !== 201) throw new Error(`register failed (${reg.status}): is the API up at ${api}?`);
const adminToken = (await json('POST', '/auth/login', { tenant, email: admin, password })).body.access_token as string;
const tokens: string[] = [];
for (let i = 0; i < USERS; i++) {
  const email = `u${i}@${tenant}.example`;
  await json('POST', '/users', { email, password, name: `U${i}`, role: 'user' }, adminToken);
  tokens.push((await json('POST', '/auth/login', { tenant, email, password })).body.access_token as string);
}

// Baseline: one job alone, upload to DONE.
const t0 = performance.now();
const single = await upload(bytes, tokens[0]!);
if (single.status !== 202) throw new Error(`baseline upload answered ${single.status}`);
const singleDone = await waitAll([tokens[0]!], new Set(single.ids), 600_000);
const oneJobMs = performance.now() - t0;
if (singleDone.get(single.ids[0]!) !== 'DONE') throw new Error(`baseline job ended ${singleDone.get(single.ids[0]!)}`);

// The burst.
const started = performance.now();
const results = await Promise.all(Array.from({ length: uploads }, (_, i) => upload(bytes, tokens[i % USERS]!)));
const accepted = new Set(results.flatMap((r) => r.ids));
const refused = results.filter((r) => r.status !== 202).map((r) => r.status);
const final = await waitAll(tokens, accepted, 30 * 60_000);
const makespanMs = performance.now() - started;

const done = [...accepted].filter((id) => final.get(id) === 'DONE').length;
const lost = [...accepted].filter((id) => !terminal.has(final.get(id) ?? '')).length;
const burstJobs = [...final.keys()].filter((id) => id !== single.ids[0]);
const duplicated = burstJobs.length - accepted.size;
const cores = availableParallelism();
console.log(`burst of ${uploads} uploads of a 10 s 640x360 clip, ${cores} cores`);
console.log(`  accepted ${accepted.size}  DONE ${done}  lost ${lost}  duplicated ${duplicated}${refused.length ? `  refused ${refused.join(',')}` : ''}`);
console.log(`  one job alone (baseline) ${(oneJobMs / 1000).toFixed(1)} s; makespan ${(makespanMs / 1000).toFixed(1)} s`);
console.log(`  makespan / (one job × ${uploads} / ${cores} cores) = ${(makespanMs / ((oneJobMs * uploads) / cores)).toFixed(2)}`);
