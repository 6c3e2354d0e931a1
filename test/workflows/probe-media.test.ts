/**
 * probeMedia on the time-skipping test server with mocked activities: the order of projection
 * writes, retry of transient failures, and non-retryable INVALID_MEDIA after one attempt.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { ProbeDbActivities } from '../../activities/db/probe-jobs.ts';
import type { ProbeMediaActivities } from '../../activities/media/probe-uploaded-media.ts';

type Activities = ProbeDbActivities & ProbeMediaActivities;
import type { MediaMetadata } from '../../lib/ffmpeg/metadata.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { WORKFLOWS_PATH } from '../../workers/factory.ts';
import { probeMedia } from '../../workflows/probe-media.ts';
import { requireEnv } from '../support/env.ts';
import { startTimeSkipping } from '../support/temporal.ts';

const METADATA: MediaMetadata = {
  container: 'mov',
  duration_ms: 2000,
  bitrate: 350_000,
  streams: [{ type: 'video', codec: 'h264', width: 320, height: 240, fps: 25, sample_rate: null, channels: null }],
};

type Calls = string[];

function fakeActivities(calls: Calls, probe: (attempt: number) => MediaMetadata): Activities {
  let attempt = 0;
  return {
    async markProbeRunning(ref) {
      calls.push(`running:${ref.probeId}`);
    },
    async recordProbeResult(input) {
      calls.push(`done:${input.metadata.container}`);
    },
    async recordProbeFailure(input) {
      calls.push(`failed:${input.code}`);
    },
    async probeUploadedMedia() {
      attempt += 1;
      calls.push(`probe#${attempt}`);
      return { ...probe(attempt), demuxer: 'mov' };
    },
  };
}

describe('probeMedia workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;

  before(async () => {
    env = await startTimeSkipping(requireEnv('TEMPORAL_TEST_SERVER_PATH'));
  });
  after(async () => {
    await env?.teardown();
  });

  async function run(activities: Activities, id: string) {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: `test-${id}`,
      workflowsPath: WORKFLOWS_PATH,
      activities,
    });
    return worker.runUntil(
      env.client.workflow.execute(probeMedia, {
        workflowId: `probe-${id}`,
        taskQueue: `test-${id}`,
        args: [{ probeId: id, tenantId: 't1', ownerId: 'u1', filename: 'clip.mp4', storageKey: `t1/probe/${id}/clip.mp4` }],
      }),
    );
  }

  it('marks running, probes, records the result, in that order', async () => {
    const calls: Calls = [];
    const result = await run(fakeActivities(calls, () => METADATA), 'ok');
    assert.deepEqual(result, { ...METADATA, demuxer: 'mov' });
    assert.deepEqual(calls, ['running:ok', 'probe#1', 'done:mov']);
  });

  it('retries a transient failure and then succeeds', async () => {
    const calls: Calls = [];
    const result = await run(
      fakeActivities(calls, (attempt) => {
        if (attempt < 3) throw new Error('storage hiccup');
        return METADATA;
      }),
      'transient',
    );
    assert.equal(result.container, 'mov');
    assert.deepEqual(calls, ['running:transient', 'probe#1', 'probe#2', 'probe#3', 'done:mov']);
  });

  it('fails with INVALID_MEDIA after exactly one attempt and records the failure', async () => {
    const calls: Calls = [];
    await assert.rejects(
      run(
        fakeActivities(calls, () => {
          throw ApplicationFailure.nonRetryable('Not a readable media file', 'INVALID_MEDIA');
        }),
        'invalid',
      ),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'INVALID_MEDIA');
        return true;
      },
    );
    assert.deepEqual(calls, ['running:invalid', 'probe#1', 'failed:INVALID_MEDIA']);
  });

  it('gives up after three attempts of a transient failure with the last error', async () => {
    const calls: Calls = [];
    await assert.rejects(
      run(
        fakeActivities(calls, () => {
          throw new Error('disk full');
        }),
        'exhausted',
      ),
      WorkflowFailedError,
    );
    assert.deepEqual(calls, ['running:exhausted', 'probe#1', 'probe#2', 'probe#3', 'failed:Error']);
  });

  it('registers every search attribute it upserts', () => {
    assert.deepEqual(SEARCH_ATTRIBUTES.map((k) => k.name), ['TenantId', 'OwnerId', 'JobKind', 'Stage', 'StageSince']);
  });
});
