/**
 * Login timing: an unknown tenant, an unknown e-mail and a wrong password should answer in about
 * the same time (no account enumeration by timing). Baseline: the wrong-password login, measured
 * in the same run. Prints medians and `case / baseline` ratios.
 *
 *   RATE_LIMIT_ENABLED=false npm start     # in another terminal (the limits would stop the bench)
 *   node bench/login-timing.ts [rounds]    # BENCH_API_URL defaults to http://localhost:3000
 */
import { randomBytes } from 'node:crypto';

const api = `${process.env.BENCH_API_URL ?? 'http://localhost:3000'}/api/v1`;
const rounds = Number(process.argv[2] ?? 40);
const password = 'Correct-Horse-9';

async function post(path: string, body: unknown): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const tenant = `bench-${randomBytes(4).toString('hex')}`;
const email = `boss@${tenant}.example`;
const registered = await post('/auth/register', { tenant, email, password, name: 'Bench' });
if (registered.status !== 201) throw new Error(`register failed with ${registered.status}: is the API up at ${api}?`);

const cases = {
  'wrong password (baseline)': { tenant, email, password: 'Wrong-Password-1' },
  'unknown e-mail': { tenant, email: `ghost@${tenant}.example`, password },
  'unknown tenant': { tenant: `${tenant}-none`, email, password },
  'right password': { tenant, email, password },
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, body] of Object.entries(cases)) {
    const { status, ms } = await post('/auth/login', body);
    if (status === 429) throw new Error('rate limited: start the stack with RATE_LIMIT_ENABLED=false');
    if (round > 2) times[name]!.push(ms); // the first rounds warm up connections and the dummy hash
  }
}
const baseline = median(times['wrong password (baseline)']!);
console.log(`login timing over ${rounds - 3} rounds (median ms, ratio to wrong password)`);
for (const [name, xs] of Object.entries(times)) {
  console.log(`  ${name.padEnd(28)} ${median(xs).toFixed(1).padStart(7)} ms   ${(median(xs) / baseline).toFixed(2)}`);
}
