/** `.env.example` documents exactly the variables lib/config.ts reads, each with its default. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ENV_VARIABLES, loadConfig } from '../../lib/config.ts';

const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
const lines = text.split('\n');

interface Entry {
  name: string;
  value: string;
  comment: string;
}

/** Uncommented `NAME=value` lines, with the comment line just above each. */
function parseEnvExample(): Entry[] {
  const entries: Entry[] = [];
  lines.forEach((line, i) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) return;
    const above = lines[i - 1] ?? '';
    entries.push({ name: m[1], value: m[2], comment: above.startsWith('#') ? above : '' });
  });
  return entries;
}

const entries = parseEnvExample();
const names = entries.map((e) => e.name);

test('every variable the code reads appears in .env.example', () => {
  const missing = ENV_VARIABLES.filter((name) => !names.includes(name));
  assert.deepEqual(missing, [], `missing from .env.example: ${missing.join(', ')}`);
});

test('.env.example sets no variable the code does not read', () => {
  const unknown = names.filter((name) => !ENV_VARIABLES.includes(name));
  assert.deepEqual(unknown, [], `unknown in .env.example: ${unknown.join(', ')}`);
});

test('each variable appears once', () => {
  const dupes = names.filter((name, i) => names.indexOf(name) !== i);
  assert.deepEqual(dupes, []);
});

test('each variable has a comment line stating its default, and the value is that default', () => {
  for (const { name, value, comment } of entries) {
    assert.ok(comment.length > 2, `${name}: needs a comment line above it`);
    const m = /Default: (.*)$/.exec(comment);
    assert.ok(m, `${name}: the comment must end with "Default: …"`);
    const stated = m[1].trim() === '(empty)' ? '' : m[1].trim();
    assert.equal(value, stated, `${name}: value and stated default differ`);
  }
});

test('the values in .env.example are the defaults of lib/config.ts', () => {
  const env = Object.fromEntries(entries.map((e) => [e.name, e.value]));
  assert.deepEqual(loadConfig(env), loadConfig({}));
});
