/**
 * Local-directory storage for single-node installs: `{root}/{physicalBucket}/{key}`.
 * Writes land in `{bucketDir}/.moviola-tmp/` and are renamed into place (atomic); the content
 * type and ETag live in `{bucketDir}/.moviola-meta/{key}.json`, tied to the data file's inode,
 * size and mtime so a stale sidecar is never believed. Presigned URLs point at `api/routes/storage.ts`.
 * A multipart upload lives in `{bucketDir}/.moviola-multipart/{uploadId}/` (`upload.json` naming its
 * key and content type, one `part-NNNNN` file per part) until complete concatenates the parts into
 * the object, or abort removes the directory.
 */
import { randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { StorageConfig } from '../config.ts';
import { commitTempFile, writeFileAtomically, writeTempFile } from './atomic-file.ts';
import { attachmentDisposition } from './disposition.ts';
import { signedUrl } from './signing.ts';
import {
  assertSafeKey,
  assertSafePrefix,
  BUCKETS,
  InvalidKeyError,
  MAX_PARTS,
  missingPartNumbers,
  MultipartUploadError,
  ObjectNotFoundError,
  physicalBucket,
  type BucketName,
  type CompleteMultipartOptions,
  type MultipartOptions,
  type ObjectInfo,
  type PresignGetOptions,
  type PutOptions,
  type StorageDriver,
} from './types.ts';

const RESERVED = '.moviola-';
const TMP_DIR = '.moviola-tmp';
const META_DIR = '.moviola-meta';
const MULTIPART_DIR = '.moviola-multipart';
const UPLOAD_MANIFEST = 'upload.json';
/** Multipart uploads untouched this long are swept by ensureBuckets (presigned URLs live at most 7 days). */
const STALE_MULTIPART_MS = 8 * 24 * 60 * 60 * 1000;
const UPLOAD_ID = /^[0-9a-f]{32}$/;
const PART_FILE = /^part-(\d{5})$/;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const STALE_TMP_MS = 24 * 60 * 60 * 1000;

/** `upload.json` of a multipart upload. */
interface UploadManifest {
  key: string;
  contentType: string;
  createdAt: string;
}

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
      await this.#sweepMultipart(join(dir, MULTIPART_DIR));
    }
  }

  /** Removes multipart uploads nobody has touched for longer than any presigned URL lives. */
  async #sweepMultipart(multipartDir: string): Promise<void> {
    const cutoff = Date.now() - STALE_MULTIPART_MS;
    let names: string[];
    try {
      names = await readdir(multipartDir);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const name of names) {
      const info = await lstat(join(multipartDir, name)).catch(() => null);
      if (info && info.mtimeMs < cutoff) await rm(join(multipartDir, name), { recursive: true, force: true });
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

  // --- multipart uploads --------------------------------------------------------------------

  #uploadDir(bucket: BucketName, uploadId: string): string | null {
    return UPLOAD_ID.test(uploadId) ? join(this.bucketDir(bucket), MULTIPART_DIR, uploadId) : null;
  }

  /** The upload's directory when `uploadId` is an upload of exactly `key`; else null. */
  async #openUpload(bucket: BucketName, key: string, uploadId: string): Promise<{ dir: string; manifest: UploadManifest } | null> {
    this.#paths(bucket, key);
    const dir = this.#uploadDir(bucket, uploadId);
    if (!dir) return null;
    try {
      const manifest = JSON.parse(await readFile(join(dir, UPLOAD_MANIFEST), 'utf8')) as Partial<UploadManifest>;
      if (manifest.key !== key || typeof manifest.contentType !== 'string') return null;
      return { dir, manifest: manifest as UploadManifest };
    } catch (err) {
      if (isMissing(err) || err instanceof SyntaxError) return null;
      throw err;
    }
  }

  async createMultipartUpload(bucket: BucketName, key: string, opts: MultipartOptions = {}): Promise<string> {
    this.#paths(bucket, key);
    const uploadId = randomUUID().replace(/-/g, '');
    const dir = join(this.bucketDir(bucket), MULTIPART_DIR, uploadId);
    await mkdir(dir, { recursive: true });
    const manifest: UploadManifest = { key, contentType: opts.contentType || DEFAULT_CONTENT_TYPE, createdAt: new Date().toISOString() };
    await writeFileAtomically(Buffer.from(JSON.stringify(manifest)), join(dir, UPLOAD_MANIFEST));
    return uploadId;
  }

  async presignUploadPart(bucket: BucketName, key: string, uploadId: string, partNumber: number, expiresSeconds: number): Promise<string> {
    this.#paths(bucket, key);
    assertPartNumber(partNumber);
    if (!UPLOAD_ID.test(uploadId)) throw new TypeError('uploadId is not an upload id of this driver');
    return signedUrl(this.#config.publicUrl, this.#config.signingSecret, {
      method: 'PUT',
      bucket,
      key,
      disposition: '',
      part: { uploadId, partNumber },
      expiresSeconds,
    });
  }

  /**
   * Stores one part (what a presigned part URL does; called by the storage router). Replaces an
   * earlier upload of the same part. Throws MultipartUploadError NO_SUCH_UPLOAD when the upload
   * is unknown, finished, or of another key.
   */
  async uploadPart(bucket: BucketName, key: string, uploadId: string, partNumber: number, body: Readable | Buffer): Promise<{ size: number; etag: string }> {
    assertPartNumber(partNumber);
    const upload = await this.#openUpload(bucket, key, uploadId);
    if (!upload) throw new MultipartUploadError('NO_SUCH_UPLOAD', bucket, key, 'no such multipart upload');
    const tmp = await writeTempFile(body, upload.dir, `part-${partNumber}`);
    try {
      await rename(tmp.path, join(upload.dir, partFile(partNumber)));
    } catch (err) {
      await rm(tmp.path, { force: true });
      if (isMissing(err)) throw new MultipartUploadError('NO_SUCH_UPLOAD', bucket, key, 'the multipart upload ended while the part was written', { cause: err });
      throw err;
    }
    return { size: tmp.size, etag: tmp.md5 };
  }

  async completeMultipartUpload(bucket: BucketName, key: string, uploadId: string, opts: CompleteMultipartOptions = {}): Promise<ObjectInfo> {
    const upload = await this.#openUpload(bucket, key, uploadId);
    if (!upload) throw new MultipartUploadError('NO_SUCH_UPLOAD', bucket, key, 'no such multipart upload');
    const parts = (await readdir(upload.dir))
      .map((name) => PART_FILE.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const missing = missingPartNumbers(parts, opts.partCount);
    if (missing.length > 0) {
      throw new MultipartUploadError('MISSING_PARTS', bucket, key, `parts not uploaded: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`, { missingParts: missing });
    }
    if (opts.partCount !== undefined && parts.length > opts.partCount) {
      throw new MultipartUploadError('INVALID_PARTS', bucket, key, `${parts.length} parts uploaded, ${opts.partCount} expected`);
    }
    const dir = upload.dir;
    async function* concatenated(): AsyncGenerator<Buffer> {
      for (const n of parts) {
        for await (const chunk of createReadStream(join(dir, partFile(n)))) yield chunk as Buffer;
      }
    }
    const info = await this.put(bucket, key, Readable.from(concatenated()), { contentType: upload.manifest.contentType });
    await rm(dir, { recursive: true, force: true });
    return info;
  }

  async abortMultipartUpload(bucket: BucketName, key: string, uploadId: string): Promise<void> {
    const upload = await this.#openUpload(bucket, key, uploadId);
    if (upload) await rm(upload.dir, { recursive: true, force: true });
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

function partFile(partNumber: number): string {
  return `part-${String(partNumber).padStart(5, '0')}`;
}

function assertPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
    throw new RangeError(`partNumber must be an integer between 1 and ${MAX_PARTS}`);
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
