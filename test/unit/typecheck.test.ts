/** The whole project type-checks under `strict` (Node runs the .ts files with types stripped, unchecked). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

it('tsc --noEmit reports no error', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});
