/**
 * Render queue (issue 8): N clip jobs submitted at once to the running stack (`npm start`: one
 * heavy worker, one slot), waited until all finish; then, from the workflow histories, every
 * activity that ran on the heavy task queue (video analysis, music sync, render, check) as an
 * interval [ActivityTaskStarted, close]. Not a test: numbers only.
 *
 *   npm start                                  # in another terminal
 *   node bench/render-queue.ts [jobs=10]       # BENCH_API_URL defaults to http://localhost:3000
 *
 * Temporal's address, namespace and the heavy task queue come from the same environment as the
 * stack's (lib/config.ts defaults: 127.0.0.1:7233, `default`, `moviola-heavy`).
 *
 * Videos: N distinct 320×180 25 fps H.264 + AAC performances (test/support/clips.ts, 20 s, 21 s, …;
 * distinct bytes, so no analysis comes from the cache), made once into .data/bench/render-queue/.
 * Each job comes from its own tenant (the per-user clip-job limit is not what is measured), without
 * a track, clips 5–8 s: 2 variants per job.
 *
 * Printed: job count and outcomes, heavy activity count (by type), the maximum number of heavy
 * activities running at the same moment (must be 1: one heavy worker with one slot), makespan
 * (first heavy start → last heavy end), busy time (Σ of the intervals) and the heavy worker's
 * utilization = busy / makespan, the idle gaps between consecutive heavy activities, and the
 * wall time from submission until every job ended.
 *
 * A retried activity shows only its last attempt in the history (earlier attempts' times are not
 * recorded): the count of such activities is printed, and their earlier attempts are not in the figures.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../lib/config.ts';
import { call, registerTenant, type Session } from '../test/support/accounts.ts';
import { makePerformance } from '../test/support/clips.ts';
import { heavyRuns, type HeavyRun } from '../test/support/heavy-runs.ts';
import { median } from './support.ts';

const api = process.env.BENCH_API_URL ?? 'http://localhost:3000';
const jobs = Number(process.argv[2] ?? 10);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`jobs must be a positive integer, got ${process.argv[2]}`);
const DIR = resolve(import.meta.dirname, '..', '.data', 'bench', 'render-queue');
const TERMINAL = new Set(['done', 'failed', 'cancelled']);
const POLL_MS = 2_000;
const TIMEOUT_MS = 30 * 60_000;

interface Job {
  user: Session;
  id: string;
  status: string;
  stage: string;
  renders: Array<{ index: number; status: string }>;
}

async function videos(): Promise<string[]> {
  await mkdir(DIR, { recursive: true });
  return Promise.all(Array.from({ length: jobs }, async (_, i) => {
    const name = `show-${20 + i}s.mp4`;
    const path = join(DIR, name);
    return existsSync(path) ? path : makePerformance(DIR, name, { seconds: 20 + i });
  }));
}

/** A tenant with an artist, and the job's multipart form (made before the clock starts). */
interface Prepared {
  user: Session;
  form: FormData;
}

async function prepare(path: string): Promise<Prepared> {
  const user = await registerTenant(api);
  const artist = await call(api, 'POST', '/api/v1/artists', { token: user.access, body: { name: 'Bench Band' } });
  if (artist.status !== 201) throw new Error(`artist: ${artist.status} ${JSON.stringify(artist.body)}`);
  const form = new FormData();
  form.append('artist_id', String(artist.body.id));
  form.append('min_length_s', '5');
  form.append('max_length_s', '8');
  form.append('video', new Blob([await readFile(path)]), basename(path));
  return { user, form };
}

async function submit({ user, form }: Prepared): Promise<Job> {
  const res = await fetch(`${api}/api/v1/clip-jobs`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.access}` } });
  const body = (await res.json().catch(() => null)) as { clip_job_id?: string } | null;
  if (res.status !== 202 || !body?.clip_job_id) throw new Error(`POST /clip-jobs answered ${res.status}: ${JSON.stringify(body)}`);
  return { user, id: body.clip_job_id, status: 'queued', stage: 'queued', renders: [] };
}

async function waitAll(list: Job[]): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    await Promise.all(list.filter((j) => !TERMINAL.has(j.status)).map(async (j) => {
      const res = await call(api, 'GET', `/api/v1/clip-jobs/${j.id}`, { token: j.user.access });
      if (res.status !== 200) throw new Error(`GET /clip-jobs/${j.id}: ${res.status} ${JSON.stringify(res.body)}`);
      j.status = String(res.body.status);
      j.stage = String(res.body.stage);
      j.renders = (res.body.renders as Job['renders'] | undefined) ?? [];
    }));
    const open = list.filter((j) => !TERMINAL.has(j.status)).length;
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} job(s) still running after ${TIMEOUT_MS / 60_000} min`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The largest number of intervals open at one moment (an interval ending when another starts does not overlap it). */
function maxConcurrency(runs: HeavyRun[]): { max: number; at: number | null } {
  const edges = runs.flatMap((r) => [{ t: r.startMs, d: 1 }, { t: r.endMs, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  let at: number | null = null;
  for (const e of edges) {
    open += e.d;
    if (open > max) [max, at] = [open, e.t];
  }
  return { max, at };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const health = await fetch(`${api}/api/v1/health`).catch(() => null);
  if (!health) throw new Error(`no API at ${api}: start the stack first (npm start)`);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    process.stdout.write(`[bench] making ${jobs} videos into ${DIR} (once) …\n`);
    const paths = await videos();
    const prepared = await Promise.all(paths.map(prepare));
    process.stdout.write(`[bench] submitting ${jobs} clip jobs at once …\n`);
    const submittedAt = Date.now();
    const list = await Promise.all(prepared.map(submit));
    await waitAll(list);
    const allEndedMs = Date.now() - submittedAt;

    const runs: HeavyRun[] = [];
    for (const j of list) {
      for (const workflowId of [`analyze-video-${j.id}`, `clip-${j.id}`]) {
        runs.push(...await heavyRuns(client, config.temporal.heavyTaskQueue, workflowId).catch((err: unknown) => {
          // A job cancelled or failed before its child started has no analyze-video history.
          if (/not found/i.test(String(err))) return [];
          throw err;
        }));
      }
    }
    if (runs.length === 0) throw new Error('no heavy activity found in the histories');
    const sorted = [...runs].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
    const first = sorted[0]!.startMs;
    const last = Math.max(...runs.map((r) => r.endMs));
    const makespan = last - first;
    const busy = runs.reduce((s, r) => s + (r.endMs - r.startMs), 0);
    const { max, at } = maxConcurrency(runs);
    const gaps = sorted.slice(1).map((r, i) => r.startMs - Math.max(...sorted.slice(0, i + 1).map((p) => p.endMs)));
    const idle = gaps.filter((g) => g > 0);
    const names = [...new Set(runs.map((r) => r.name))];
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const outcomes = new Map<string, number>();
    for (const j of list) outcomes.set(`${j.status} / ${j.stage}`, (outcomes.get(`${j.status} / ${j.stage}`) ?? 0) + 1);
    const renderOutcomes = new Map<string, number>();
    for (const r of list.flatMap((j) => j.renders)) renderOutcomes.set(r.status, (renderOutcomes.get(r.status) ?? 0) + 1);

    console.log(`\n## ${jobs} clip jobs at once, one heavy worker (task queue ${config.temporal.heavyTaskQueue})\n`);
    console.log(`jobs: ${jobs} — ${[...outcomes].map(([k, n]) => `${n} ${k}`).join(', ')}; variants: ${[...renderOutcomes].map(([k, n]) => `${n} ${k}`).join(', ')}`);
    console.log(`heavy activities: ${runs.length} — ${names.map((n) => `${runs.filter((r) => r.name === n).length} ${n} (median ${s(median(runs.filter((r) => r.name === n).map((r) => r.endMs - r.startMs)))})`).join(', ')}`);
    const retried = runs.filter((r) => r.attempt > 1).length;
    if (retried > 0) console.log(`  ${retried} of them retried: only their last attempt's interval is in the history and in the figures below`);
    console.log(`MAX CONCURRENT HEAVY ACTIVITIES: ${max} ${max === 1 ? '(one at a time, as the one slot requires)' : `(OVERLAP: ${max} at once at ${new Date(at!).toISOString()})`}`);
    console.log(`makespan (first heavy start → last heavy end): ${s(makespan)}`);
    console.log(`busy (Σ heavy intervals): ${s(busy)}`);
    console.log(`HEAVY WORKER UTILIZATION = busy / makespan = ${(busy / makespan).toFixed(3)}`);
    console.log(`idle gaps between consecutive heavy activities: ${idle.length} of ${gaps.length}; median ${gaps.length ? (median(gaps.map((g) => Math.max(0, g)))).toFixed(0) : '–'} ms, longest ${idle.length ? Math.max(...idle).toFixed(0) : 0} ms, total ${s(idle.reduce((a, g) => a + g, 0))}`);
    console.log(`submission → first heavy start: ${s(first - submittedAt)}; submission → every job ended (polled every ${POLL_MS / 1000} s): ${s(allEndedMs)}`);
  } finally {
    await connection.close();
  }
}

await main();
