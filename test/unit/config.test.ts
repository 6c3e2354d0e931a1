import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError, DEV_SECRETS, ENV_VARIABLES, loadConfig } from '../../lib/config.ts';

const PROD_SECRETS = {
  NODE_ENV: 'production',
  S3_ACCESS_KEY: 'prod-access',
  S3_SECRET_KEY: 'prod-secret-value',
  STORAGE_SIGNING_SECRET: 'x'.repeat(48),
  JWT_SECRET: 'j'.repeat(48),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

describe('config', () => {
  it('gives working development defaults from an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.env, 'development');
    assert.equal(config.api.port, 3000);
    assert.equal(config.temporal.taskQueue, 'moviola');
    assert.equal(config.temporal.heavyTaskQueue, 'moviola-heavy');
    assert.equal(config.api.maxUploadBytes, 500 * 1024 * 1024);
    assert.equal(config.storage.driver, 's3');
  });

  it('takes the clip-score baseline weights from CLIP_WEIGHTS_JSON, naming the variable when they are bad', () => {
    const builtIn = loadConfig({}).clips.baselineWeights;
    assert.equal(builtIn.version, 'global-baseline-1');
    const override = { hook: 0.4, energy: 0.1, motion: 0.1, cuts_on_beats: 0.1, music_fit: 0.1, visual_variety: 0.2, frozen_penalty: 0.3 };
    const custom = loadConfig({ CLIP_WEIGHTS_JSON: JSON.stringify({ version: 'studio-2', weights: override }) }).clips.baselineWeights;
    assert.deepEqual(custom, { version: 'studio-2', weights: override });
    for (const bad of ['{not json', JSON.stringify({ ...override, hook: -1 }), JSON.stringify({ hook: 1 })]) {
      const problems = problemsOf({ CLIP_WEIGHTS_JSON: bad });
      assert.equal(problems.length, 1, bad);
      assert.match(problems[0]!, /^CLIP_WEIGHTS_JSON: /);
    }
  });

  it('reads and coerces values', () => {
    const config = loadConfig({ API_PORT: '8080', MAX_UPLOAD_MB: '2', STORAGE_DRIVER: 'fs', DOCS_ENABLED: 'false', PUBLIC_URL: 'https://m.example/' });
    assert.equal(config.api.port, 8080);
    assert.equal(config.api.maxUploadBytes, 2 * 1024 * 1024);
    assert.equal(config.storage.driver, 'fs');
    assert.equal(config.api.docsEnabled, false);
    assert.equal(config.api.publicUrl, 'https://m.example');
  });

  it('names every bad variable', () => {
    const problems = problemsOf({ API_PORT: 'eighty', STORAGE_DRIVER: 'ftp', DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'nohost' });
    const named = problems.map((p) => p.split(':')[0]).sort();
    assert.deepEqual(named, ['API_PORT', 'DATABASE_URL', 'STORAGE_DRIVER', 'TEMPORAL_ADDRESS']);
  });

  it('refuses development secrets in production, naming each', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    assert.deepEqual(problems.map((p) => p.split(':')[0]).sort(), Object.keys(DEV_SECRETS).sort());
    assert.doesNotThrow(() => loadConfig(PROD_SECRETS));
  });

  it('refuses a signing secret shorter than 32 characters', () => {
    assert.deepEqual(problemsOf({ STORAGE_SIGNING_SECRET: 'short' }).map((p) => p.split(':')[0]), ['STORAGE_SIGNING_SECRET']);
  });

  it('refuses a CORS wildcard or an origin with a path', () => {
    assert.deepEqual(problemsOf({ CORS_ORIGINS: '*' }).map((p) => p.split(':')[0]), ['CORS_ORIGINS']);
    assert.deepEqual(problemsOf({ CORS_ORIGINS: 'https://a.example/app' }).map((p) => p.split(':')[0]), ['CORS_ORIGINS']);
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).cors.origins, ['https://a.example', 'http://localhost:5173']);
  });

  it('lists the variables it reads', () => {
    for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'S3_ENDPOINT', 'MAX_UPLOAD_MB', 'FFPROBE_PATH']) {
      assert.ok(ENV_VARIABLES.includes(name), name);
    }
  });

  for (const entry of ['api/server.ts', 'workers/main.ts', 'workers/heavy.ts']) {
    it(`${entry} exits 1 naming a bad variable before doing anything`, () => {
      const result = spawnSync(process.execPath, [entry], {
        env: { PATH: process.env.PATH, API_PORT: 'not-a-port', NODE_ENV: 'development' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /API_PORT/);
    });
  }
});
