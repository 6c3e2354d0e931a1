/**
 * The README's `temporal` CLI commands ("Feedback and learning centers") against a running
 * `learningCenter` workflow on the real stack, with the real `temporal` binary that `npm test`
 * provisions (TEMPORAL_CLI_PATH) pointed at the test stack's dev server and namespace:
 * `workflow query --type current` (version 1), `signal --name pause` (the API shows paused, a second
 * API pause is 409 ALREADY_PAUSED, `workflow list --query "JobKind = 'learning-center' AND Stage =
 * 'paused'"` finds the center), `signal --name resume` (active), `update execute --name
 * editWeights` (version 2, the history row's author is the CLI's), `update execute --name revert`
 * to the baseline (version 3, exactly the baseline's weights) and to a version that does not exist
 * (the CLI fails naming UNKNOWN_VERSION, the center is unchanged), `query --type history`, and
 * `update execute --name setLabel`.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { learningCenterWorkflowId } from '../../lib/learning/contract.ts';
import { call, registerTenant, type Session } from '../support/accounts.ts';
import { createArtist } from '../support/catalogue-rows.ts';
import { requireEnv } from '../support/env.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

type Body = Record<string, unknown>;
type Weights = Record<string, number>;
const CENTERS = '/api/v1/learning-centers';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('learning center: the README\'s temporal CLI commands on the real stack', { timeout: 300_000 }, () => {
  let stack: TestStack;
  let cliPath: string;
  let alice: Session;
  let centerId: string;
  let workflowId: string;
  let baseline: Weights;

  before(async () => {
    cliPath = requireEnv('TEMPORAL_CLI_PATH');
    try {
      fs.accessSync(cliPath, fs.constants.X_OK);
    } catch (err) {
      throw new Error(`TEMPORAL_CLI_PATH=${cliPath} is not an executable temporal CLI (${(err as Error).message})`);
    }
    stack = await startTestStack({ name: 'centers-cli', heavyWorker: false, env: { OPENAI_API_KEY: '', RATE_LIMIT_REQUESTS_PER_USER: '100000' } });
    alice = await registerTenant(stack.baseUrl);
  });
  after(async () => {
    await stack?.stop();
  });

  // -------------------------------------------------------------------------------------------
  // Helpers

  /** Runs `temporal <args>` against the test stack's dev server; never throws on a non-zero exit. */
  function temporal(...args: string[]): Promise<CliResult> {
    const connection = [
      '--address', stack.config.temporal.address,
      '--namespace', stack.config.temporal.namespace,
      '--disable-config-file', // a developer's ~/.config/temporalio profile must not redirect the CLI
      '--color', 'never',
      '--command-timeout', '30s',
    ];
    return new Promise((resolve, reject) => {
      execFile(cliPath, [...args, ...connection], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`temporal ${args.join(' ')} did not run: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      });
    });
  }

  const shown = (args: string[], r: CliResult) => `temporal ${args.join(' ')} → exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

  /** `temporal <args> -o json`, asserted to succeed, its stdout parsed. */
  async function temporalJson(...args: string[]): Promise<unknown> {
    const all = [...args, '-o', 'json'];
    const r = await temporal(...all);
    assert.equal(r.code, 0, shown(all, r));
    try {
      return JSON.parse(r.stdout);
    } catch {
      assert.fail(`not JSON: ${shown(all, r)}`);
    }
  }

  /** The value a query or update answered, from the CLI's JSON output. */
  function resultOf(output: unknown, field: 'queryResult' | 'result'): unknown {
    const value = (output as Body)[field];
    assert.ok(value !== undefined, `no ${field} in ${JSON.stringify(output)}`);
    // A query answers the list of the handler's return values (one here).
    return field === 'queryResult' && Array.isArray(value) ? value[0] : value;
  }

  const query = async (type: string) => resultOf(await temporalJson('workflow', 'query', '--workflow-id', workflowId, '--type', type), 'queryResult');
  const update = async (name: string, input: unknown) =>
    resultOf(await temporalJson('workflow', 'update', 'execute', '--workflow-id', workflowId, '--name', name, '--input', JSON.stringify(input)), 'result') as Body;
  async function signal(name: string): Promise<void> {
    const args = ['workflow', 'signal', '--workflow-id', workflowId, '--name', name];
    const r = await temporal(...args);
    assert.equal(r.code, 0, shown(args, r));
  }

  /** Workflow ids `temporal workflow list --query <q>` finds (visibility lags: callers poll). */
  async function listed(visibilityQuery: string): Promise<string[]> {
    const out = await temporalJson('workflow', 'list', '--query', visibilityQuery);
    const rows = Array.isArray(out) ? out : [];
    return rows.map((row) => String((row as { execution?: { workflowId?: string } }).execution?.workflowId));
  }

  const api = (method: string, path: string, body?: unknown) => call(stack.baseUrl, method, path, { token: alice.access, ...(body === undefined ? {} : { body }) });

  async function get(): Promise<Body> {
    const res = await api('GET', `${CENTERS}/${centerId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  async function history(): Promise<Body[]> {
    const res = await api('GET', `${CENTERS}/${centerId}/history?limit=100`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { items: Body[] }).items;
  }

  const PAUSED = "JobKind = 'learning-center' AND Stage = 'paused'";

  // -------------------------------------------------------------------------------------------
  // The README's commands, in order, on one center

  it('a center made through the API: `workflow query --type current` answers version 1 at the baseline', async () => {
    const scope = `artist-${await createArtist(stack.baseUrl, alice)}`;
    const res = await api('POST', CENTERS, { scope });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    centerId = String(res.body.id);
    workflowId = learningCenterWorkflowId(alice.tenantId, scope);
    assert.equal(res.body.workflow_id, workflowId);
    baseline = res.body.baseline_weights as Weights;
    assert.deepStrictEqual(baseline, { ...stack.config.clips.baselineWeights.weights });

    // The workflow answers once a worker has run its first task.
    const current = await eventually(async () => {
      const args = ['workflow', 'query', '--workflow-id', workflowId, '--type', 'current', '-o', 'json'];
      const r = await temporal(...args);
      return r.code === 0 ? (resultOf(JSON.parse(r.stdout), 'queryResult') as Body) : undefined;
    }, { timeoutMs: 30_000, what: `temporal workflow query --type current on ${workflowId}` });
    assert.equal(current.centerId, centerId);
    assert.equal(current.tenantId, alice.tenantId);
    assert.equal(current.scope, scope);
    assert.equal(current.version, 1);
    assert.equal(current.status, 'active');
    assert.deepStrictEqual(current.weights, baseline);
  });

  it('`workflow signal --name pause`: the API shows paused, a second API pause is 409 ALREADY_PAUSED, `workflow list` finds it paused', async () => {
    await signal('pause');
    const paused = await eventually(async () => {
      const c = await get();
      return c.status === 'paused' ? c : undefined;
    }, { what: 'the API showing the center paused' });
    assert.equal(paused.source, 'workflow');
    assert.equal(paused.version, 1);
    const again = await api('POST', `${CENTERS}/${centerId}/pause`);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal((again.body.error as { code: string }).code, 'ALREADY_PAUSED');
    assert.equal(((await query('current')) as Body).status, 'paused');

    // The README's visibility query (Stage is upserted by the pause; visibility lags).
    await eventually(async () => ((await listed(PAUSED)).includes(workflowId) ? true : undefined), {
      timeoutMs: 30_000, what: `${workflowId} in temporal workflow list --query "${PAUSED}"`,
    });
  });

  it('`workflow signal --name resume`: the API shows active again, and the center leaves the paused list', async () => {
    await signal('resume');
    const active = await eventually(async () => {
      const c = await get();
      return c.status === 'active' ? c : undefined;
    }, { what: 'the API showing the center active' });
    assert.equal(active.version, 1);
    await eventually(async () => ((await listed(PAUSED)).includes(workflowId) ? undefined : true), {
      timeoutMs: 30_000, what: `${workflowId} gone from the paused list`,
    });
    assert.ok((await listed("JobKind = 'learning-center' AND Stage = 'active'")).includes(workflowId));
  });

  it('`workflow update execute --name editWeights`: version 2 with energy 0.3 in the answer, the API and a history row by the CLI\'s author', async () => {
    const answer = await update('editWeights', { weights: { energy: 0.3 }, reason: 'cli edit', author: 'ops' });
    assert.equal(answer.version, 2);
    assert.deepStrictEqual(answer.weights, { ...baseline, energy: 0.3 });

    const c = await get();
    assert.equal(c.version, 2);
    assert.deepStrictEqual(c.weights, { ...baseline, energy: 0.3 });
    const [latest] = await history();
    assert.equal(latest!.version, 2);
    assert.equal(latest!.source, 'edit');
    assert.equal(latest!.author, 'ops');
    assert.equal(latest!.reason, 'cli edit');
    assert.deepStrictEqual(latest!.weights, { ...baseline, energy: 0.3 });
  });

  it('`workflow update execute --name revert` to the baseline: version 3 with exactly the baseline\'s weights', async () => {
    const answer = await update('revert', { to: 'baseline', reason: 'undo', author: 'ops' });
    assert.equal(answer.version, 3);
    assert.deepStrictEqual(answer.weights, baseline);

    const c = await get();
    assert.equal(c.version, 3);
    assert.deepStrictEqual(c.weights, baseline);
    const rows = await history();
    assert.deepStrictEqual(rows.map((v) => [v.version, v.source, v.author]), [[3, 'revert', 'ops'], [2, 'edit', 'ops'], [1, 'baseline', alice.userId]]);
    assert.equal(rows[0]!.reverted_to, 1);
    assert.deepStrictEqual(rows[0]!.weights, rows[2]!.weights);
  });

  it('`workflow update execute --name revert` to version 99: the CLI fails naming UNKNOWN_VERSION and the center is unchanged', async () => {
    const args = ['workflow', 'update', 'execute', '--workflow-id', workflowId, '--name', 'revert', '--input', JSON.stringify({ to: 99, reason: 'nope', author: 'ops' })];
    const r = await temporal(...args);
    assert.notEqual(r.code, 0, shown(args, r));
    assert.match(`${r.stdout}\n${r.stderr}`, /UNKNOWN_VERSION/, shown(args, r));

    const c = await get();
    assert.equal(c.version, 3);
    assert.deepStrictEqual(c.weights, baseline);
    assert.deepStrictEqual((await history()).map((v) => v.version), [3, 2, 1]);
    assert.equal(((await query('current')) as Body).version, 3);
  });

  it('`workflow query --type history` lists the versions the workflow keeps', async () => {
    const kept = (await query('history')) as Body[];
    assert.ok(Array.isArray(kept), JSON.stringify(kept));
    assert.deepStrictEqual(kept.map((v) => v.version).sort(), [1, 2, 3]);
    const byVersion = new Map(kept.map((v) => [v.version, v]));
    assert.deepStrictEqual(byVersion.get(2)!.weights, { ...baseline, energy: 0.3 });
    assert.deepStrictEqual(byVersion.get(3)!.weights, baseline);
    assert.equal(byVersion.get(2)!.author, 'ops');
  });

  it('`workflow update execute --name setLabel`: the API shows the label, no new version', async () => {
    const answer = await update('setLabel', { label: 'experimental', author: 'ops' });
    assert.equal(answer.label, 'experimental');
    const c = await get();
    assert.equal(c.label, 'experimental');
    assert.equal(c.version, 3);
  });
});
