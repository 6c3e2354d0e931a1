/** Processes of this machine, read from /proc (for tests that check ffmpeg was killed). */
import { readdir, readFile } from 'node:fs/promises';

/** ffmpeg/ffprobe processes whose command line mentions `needle`, as "pid: command line". */
export async function ffmpegProcessesWith(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmdline: string;
    try {
      cmdline = (await readFile(`/proc/${pid}/cmdline`)).toString('utf8').split('\0').join(' ');
    } catch {
      continue; // exited meanwhile
    }
    if (/ffmpeg|ffprobe/.test(cmdline) && cmdline.includes(needle)) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}
