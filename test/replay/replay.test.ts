/**
 * Every recorded history under test/replay/histories/ (`<workflowType>-<case>.json`, from
 * `temporal workflow show -o json`) replays against today's workflow code. A non-deterministic
 * change fails here: put it behind `patched()`.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/factory.ts';
import * as workflows from '../../workflows/index.ts';

const DIR = new URL('./histories/', import.meta.url);
const files = (await readdir(DIR)).filter((f) => f.endsWith('.json')).sort();

describe('replay of recorded histories', () => {
  it('has a recorded history for every workflow type', () => {
    const recorded = new Set(files.map((f) => f.split('-')[0]));
    for (const type of Object.keys(workflows)) assert.ok(recorded.has(type), `no history recorded for ${type}`);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const history = JSON.parse(await readFile(new URL(file, DIR), 'utf8'));
      await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, replayName: file }, history);
    });
  }
});
