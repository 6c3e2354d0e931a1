/** Writing a stream to a local file so that readers see the whole file or nothing. */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface TempFile {
  path: string;
  size: number;
  /** Hex MD5 of the content (what S3 reports as the ETag of a single-part object). */
  md5: string;
}

export function toReadable(body: Readable | Buffer): Readable {
  return Buffer.isBuffer(body) ? Readable.from([body]) : body;
}

/** Streams `source` into a new, flushed temporary file in `tmpDir`; removes it on failure. */
export async function writeTempFile(source: Readable | Buffer, tmpDir: string, hint = 'object'): Promise<TempFile> {
  await mkdir(tmpDir, { recursive: true });
  const path = join(tmpDir, `.${hint.slice(0, 60)}.${randomUUID()}.tmp`);
  const md5 = createHash('md5');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      md5.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(toReadable(source), meter, createWriteStream(path, { flags: 'wx', flush: true }));
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { path, size, md5: md5.digest('hex') };
}

/**
 * Renames a temporary file onto `dest`, creating its directory. Retries when a concurrent delete
 * pruned the freshly created directory in between. Removes the temporary file on failure.
 */
export async function commitTempFile(tmpPath: string, dest: string): Promise<void> {
  try {
    for (let attempt = 1; ; attempt++) {
      await mkdir(dirname(dest), { recursive: true });
      try {
        await rename(tmpPath, dest);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
}

/** writeTempFile next to `dest` (or in `tmpDir`, on the same filesystem), then commitTempFile. */
export async function writeFileAtomically(source: Readable | Buffer, dest: string, tmpDir = dirname(dest)): Promise<TempFile> {
  const tmp = await writeTempFile(source, tmpDir, basename(dest));
  await commitTempFile(tmp.path, dest);
  return { ...tmp, path: dest };
}
