/** Where the scripts keep what they install (.tools/) and what the stack writes (.data/); both git-ignored. */
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const TOOLS_DIR = path.join(ROOT, '.tools');
export const PY_TOOLS_DIR = path.join(TOOLS_DIR, 'py');
export const DATA_DIR = path.join(ROOT, '.data');

/** A path for messages: relative to the repository when inside it. */
export function shown(p: string): string {
  const rel = path.relative(ROOT, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
