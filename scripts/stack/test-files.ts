/** Which test files `npm test [-- <paths…>] [-- --node-test-options]` runs. */
import fs from 'node:fs';
import path from 'node:path';

export const TEST_GLOB = 'test/**/*.test.ts';

/** Every test file under root, as sorted repository-relative POSIX paths. */
export function findTestFiles(root: string): string[] {
  return fs
    .globSync(TEST_GLOB, { cwd: root })
    .map((file) => file.split(path.sep).join('/'))
    .sort();
}

/** Splits the command line: options (`--x`, `--x=y`) go to `node --test`, the rest are path filters. */
export function splitTestArgs(argv: readonly string[]): { filters: string[]; nodeOptions: string[] } {
  const filters: string[] = [];
  const nodeOptions: string[] = [];
  for (const arg of argv) {
    if (arg === '--') continue;
    (arg.startsWith('-') ? nodeOptions : filters).push(arg);
  }
  return { filters, nodeOptions };
}

/**
 * The files under any of the filters (a file or a directory; relative to `base`, the directory npm
 * was invoked from), or all files without filters. Throws when a filter matches nothing.
 */
export function selectTestFiles(all: readonly string[], filters: readonly string[], root: string, base: string = root): string[] {
  if (filters.length === 0) return [...all];
  const selected = new Set<string>();
  for (const filter of filters) {
    const relative = path.relative(root, path.resolve(base, filter)).split(path.sep).join('/');
    const matches = all.filter((file) => relative === '' || file === relative || file.startsWith(`${relative}/`));
    if (matches.length === 0) throw new Error(`no test files match ${filter} (looked for ${TEST_GLOB})`);
    for (const file of matches) selected.add(file);
  }
  return all.filter((file) => selected.has(file));
}
