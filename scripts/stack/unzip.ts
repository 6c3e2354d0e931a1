/**
 * `unzip`, which the frames tests use to check that the ZIPs they get open in a standard tool:
 * PATH, else apt-get (root on Debian).
 */
import { provision, StackError } from './log.ts';
import { aptInstall, isDebian, isRoot, which } from './tools.ts';

export async function provideUnzip(): Promise<string> {
  let binary = which('unzip');
  let how = 'PATH';
  if (!binary) {
    if (!isRoot() || !isDebian()) throw new StackError('unzip not found: install it (Debian/Ubuntu: sudo apt-get install unzip)');
    await aptInstall(['unzip']);
    binary = which('unzip');
    how = 'installed with apt-get';
    if (!binary) throw new StackError('apt-get install unzip did not provide unzip');
  }
  provision(`unzip: ${binary} (${how})`);
  return binary;
}
