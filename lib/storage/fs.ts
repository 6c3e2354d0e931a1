/**
 * Local-directory storage for single-node installs: `{root}/{physicalBucket}/{key}`.
 * Writes land in `{bucketDir}/.moviola-tmp/` and are renamed into place (atomic); the content
 * type and ETag live in `{bucketDir}/.moviola-meta/{key}.json`, tied to the data file's inode,
 * size and mtime so a stale sidecar is never believed. Presigned URLs point at `api/routes/storage.ts`.
 */
import { constants } from 'node:fs';
import { access, lstat, mkdir, open, readdir, readFile, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { StorageConfig } from '../config.ts';
import { commitTempFile, writeFileAtomically, writeTempFile } from './atomic-file.ts';
import { attachmentDisposition } from './disposition.ts';
import { signedUrl } from './signing.ts';
import {
  assertSafeKey,
  assertSafePrefix,
  BUCKETS,
  InvalidKeyError,
  ObjectNotFoundError,
  physicalBucket,
  type BucketName,
  type ObjectInfo,
  type PresignGetOptions,
  type PutOptions,
  type StorageDriver,
} from './types.ts';

const RESERVED = '.moviola-';
const TMP_DIR = '.moviola-tmp';
const META_DIR = '.moviola-meta';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const STALE_TMP_MS = 24 * 60 * 60 * 1000;

/** Describes one exact data file: inode, size and mtime (which rename preserves). */
interface Sidecar {
  contentType: string;
  etag: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class FsStorageDriver implements StorageDriver {
  readonly kind = 'fs' as const;
  readonly root: string;
  readonly #config: StorageConfig;

  constructor(config: StorageConfig) {
    this.#config = config;
    this.root = resolve(config.fsRoot);
  }

  bucketDir(bucket: BucketName): string {
    return join(this.root, physicalBucket(this.#config.bucketPrefix, bucket));
  }

  #paths(bucket: BucketName, key: string): { data: string; meta: string; tmpDir: string } {
    assertSafeKey(key);
    if (key.startsWith(RESERVED)) throw new InvalidKeyError(key, `keys starting with "${RESERVED}" are reserved`);
    const dir = this.bucketDir(bucket);
    const data = join(dir, ...key.split('/'));
    if (!data.startsWith(dir + sep)) throw new InvalidKeyError(key, 'escapes the bucket');
    return { data, meta: join(dir, META_DIR, ...key.split('/')) + '.json', tmpDir: join(dir, TMP_DIR) };
  }

  async ensureBuckets(): Promise<void> {
    for (const bucket of BUCKETS) {
      const dir = this.bucketDir(bucket);
      await mkdir(join(dir, TMP_DIR), { recursive: true });
      await mkdir(join(dir, META_DIR), { recursive: true });
      await this.#sweepTmp(join(dir, TMP_DIR));
    }
  }

  /** Removes temporary files left by writers that crashed a day or more ago. */
  async #sweepTmp(tmpDir: string): Promise<void> {
    const cutoff = Date.now() - STALE_TMP_MS;
    for (const name of await readdir(tmpDir)) {
      const path = join(tmpDir, name);
      const info = await lstat(path).catch(() => null);
      if (info?.isFile() && info.mtimeMs < cutoff) await rm(path, { force: true });
    }
  }

  async put(bucket: BucketName, key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<ObjectInfo> {
    const paths = this.#paths(bucket, key);
    const tmp = await writeTempFile(body, paths.tmpDir, 'data');
    try {
      const tmpInfo = await stat(tmp.path);
      const sidecar: Sidecar = {
        contentType: opts.contentType || DEFAULT_CONTENT_TYPE,
        etag: tmp.md5,
        ino: tmpInfo.ino,
        size: tmpInfo.size,
        mtimeMs: tmpInfo.mtimeMs,
      };
      await writeFileAtomically(Buffer.from(JSON.stringify(sidecar)), paths.meta, paths.tmpDir);
      try {
        await commitTempFile(tmp.path, paths.data);
      } catch (err) {
        await rm(paths.meta, { force: true });
        await pruneEmptyDirs(dirname(paths.meta), join(this.bucketDir(bucket), META_DIR));
        throw err;
      }
    } catch (err) {
      await rm(tmp.path, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
        throw new Error(`fs storage cannot hold ${bucket}/${key}: a key and a folder of the same name cannot coexist`, { cause: err });
      }
      throw err;
    }
    const info = await this.stat(bucket, key);
    if (!info) throw new Error(`Object vanished right after it was written: ${bucket}/${key}`);
    return info;
  }

  async get(bucket: BucketName, key: string): Promise<Readable> {
    const { data } = this.#paths(bucket, key);
    let handle;
    try {
      handle = await open(data, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ELOOP') throw new ObjectNotFoundError(bucket, key, { cause: err });
      throw err;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(bucket, key);
    }
    return handle.createReadStream();
  }

  async getToFile(bucket: BucketName, key: string, path: string): Promise<void> {
    await writeFileAtomically(await this.get(bucket, key), resolve(path));
  }

  async stat(bucket: BucketName, key: string): Promise<ObjectInfo | null> {
    const { data, meta } = this.#paths(bucket, key);
    let info;
    try {
      info = await lstat(data);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    if (!info.isFile()) return null;
    const sidecar = await this.#readSidecar(meta);
    const fresh = sidecar && sidecar.ino === info.ino && sidecar.size === info.size && sidecar.mtimeMs === info.mtimeMs ? sidecar : null;
    return { key, size: info.size, contentType: fresh?.contentType ?? DEFAULT_CONTENT_TYPE, lastModified: info.mtime, etag: fresh?.etag };
  }

  async #readSidecar(path: string): Promise<Sidecar | null> {
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Sidecar>;
      const numbers = [parsed.ino, parsed.size, parsed.mtimeMs];
      if (typeof parsed.contentType !== 'string' || typeof parsed.etag !== 'string' || numbers.some((n) => typeof n !== 'number')) return null;
      return parsed as Sidecar;
    } catch {
      return null;
    }
  }

  async delete(bucket: BucketName, key: string): Promise<void> {
    const { data, meta } = this.#paths(bucket, key);
    const dir = this.bucketDir(bucket);
    for (const [path, stop] of [
      [data, dir],
      [meta, join(dir, META_DIR)],
    ] as const) {
      try {
        await unlink(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!isMissing(err) && code !== 'EISDIR' && code !== 'EPERM') throw err;
      }
      await pruneEmptyDirs(dirname(path), stop);
    }
  }

  async deletePrefix(bucket: BucketName, prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const object of this.list(bucket, prefix)) keys.push(object.key);
    for (const key of keys) await this.delete(bucket, key);
    return keys.length;
  }

  async *list(bucket: BucketName, prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const startKey = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    if (startKey.startsWith(RESERVED)) return;
    yield* this.#walk(this.bucketDir(bucket), startKey, prefix);
  }

  /** Depth-first in byte order of the full key, so results come out sorted like S3's. */
  async *#walk(bucketDir: string, dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(join(bucketDir, ...dirKey.split('/').filter(Boolean)), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    const children = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !(dirKey === '' && e.name.startsWith(RESERVED)))
      .map((e) => ({ key: dirKey + e.name + (e.isDirectory() ? '/' : ''), dir: e.isDirectory() }))
      .filter((c) => c.key.startsWith(prefix) || (c.dir && prefix.startsWith(c.key)))
      .sort((a, b) => compareKeys(a.key, b.key));
    for (const child of children) {
      if (child.dir) {
        yield* this.#walk(bucketDir, child.key, prefix);
      } else {
        const info = await lstat(join(bucketDir, ...child.key.split('/'))).catch(() => null);
        if (info?.isFile()) yield { key: child.key, size: info.size, lastModified: info.mtime };
      }
    }
  }

  async presignGet(bucket: BucketName, key: string, expiresSeconds: number, opts: PresignGetOptions = {}): Promise<string> {
    this.#paths(bucket, key);
    const disposition = opts.downloadFilename ? attachmentDisposition(opts.downloadFilename) : '';
    return signedUrl(this.#config.publicUrl, this.#config.signingSecret, { method: 'GET', bucket, key, disposition, expiresSeconds });
  }

  async presignPut(bucket: BucketName, key: string, expiresSeconds: number): Promise<string> {
    this.#paths(bucket, key);
    return signedUrl(this.#config.publicUrl, this.#config.signingSecret, { method: 'PUT', bucket, key, disposition: '', expiresSeconds });
  }

  async ping(): Promise<void> {
    for (const bucket of BUCKETS) {
      const dir = this.bucketDir(bucket);
      try {
        await access(join(dir, TMP_DIR), constants.R_OK | constants.W_OK);
      } catch (err) {
        throw new Error(`fs storage is not usable: ${dir} is missing or not writable`, { cause: err });
      }
    }
  }
}

/** Removes empty directories from `dir` up to (not including) `stop`; best effort. */
async function pruneEmptyDirs(dir: string, stop: string): Promise<void> {
  while (dir.startsWith(stop + sep)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
