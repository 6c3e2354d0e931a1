/**
 * docker-compose.yml must agree with lib/config.ts: the app services get only variables the
 * code reads (plus a small allowlist), every production secret is set, and loadConfig accepts
 * each app service's environment once compose's `${VAR:?…}` placeholders are filled in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEV_SECRETS, ENV_VARIABLES, loadConfig } from '../../lib/config.ts';

/** Standard variables an app service may carry although lib/config.ts does not read them. */
const ALLOWED_EXTRA_VARIABLES = ['TZ'];

const APP_SERVICES = ['api', 'worker', 'heavy-worker', 'worker-ai', 'migrate'];
const EXPECTED_SERVICES = [
  'postgresql',
  'temporal',
  'temporal-setup',
  'temporal-ui',
  'minio',
  'minio-init',
  'mailpit',
  ...APP_SERVICES,
];

/** Values that stand in for the secrets an operator supplies in `.env`. */
const SAMPLE_SECRETS: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg-sample-password',
  S3_ACCESS_KEY: 'sample-access-key',
  S3_SECRET_KEY: 'sample-secret-key-0123',
  STORAGE_SIGNING_SECRET: 'sample-signing-secret-0123456789abcdef',
  JWT_SECRET: 'sample-jwt-secret-0123456789abcdef0123',
};

type Service = {
  image?: string;
  command?: string[];
  environment?: Record<string, unknown> | string[];
  ports?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: unknown;
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const source = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
const compose = parse(source, { merge: true, maxAliasCount: 1000 }) as Compose;

/** The environment mapping of a service, values as strings (compose accepts scalars). */
function environmentOf(service: string): Record<string, string> {
  const env = compose.services[service]?.environment;
  assert.ok(env, `${service} has an environment`);
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const i = item.indexOf('=');
        return i < 0 ? [item, ''] : [item.slice(0, i), item.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/**
 * Compose-style interpolation: `${VAR:?msg}` / `${VAR?msg}` take the sample secret (unknown
 * required variables fail), `${VAR:-default}` / `${VAR-default}` take the default, a bare
 * `${VAR}` or `$VAR` is refused (it would silently become empty), `$$` is a literal `$`.
 */
function interpolate(value: string, where: string): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      if (bare) assert.fail(`${where}: unbraced $${bare} — use \${${bare}:-default} or \${${bare}:?message}`);
      if (op === ':?' || op === '?') {
        const secret = SAMPLE_SECRETS[name!];
        assert.ok(secret, `${where}: required \${${name}} has no sample value in this test`);
        return secret;
      }
      if (op === ':-' || op === '-') return arg ?? '';
      assert.fail(`${where}: \${${name}} has neither a default nor a required marker`);
    },
  );
}

function resolvedEnvironmentOf(service: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environmentOf(service)).map(([k, v]) => [k, interpolate(v, `${service}.${k}`)]),
  );
}

test('docker-compose.yml is valid YAML with the expected services', () => {
  assert.equal(typeof compose, 'object');
  assert.deepEqual(Object.keys(compose.services).sort(), [...EXPECTED_SERVICES].sort());
  for (const [name, service] of Object.entries(compose.services)) {
    assert.ok(service.image, `${name} names an image`);
  }
});

test('app services run the three entry points of the one image', () => {
  assert.deepEqual(compose.services.api.command, ['node', 'api/server.ts']);
  assert.deepEqual(compose.services.worker.command, ['node', 'workers/main.ts']);
  assert.deepEqual(compose.services['heavy-worker'].command, ['node', 'workers/heavy.ts']);
  assert.deepEqual(compose.services['worker-ai'].command, ['node', 'workers/ai.ts']);
  const images = new Set(APP_SERVICES.map((s) => compose.services[s].image));
  assert.equal(images.size, 1, 'api, workers and migrate share one image');
});

test('app services set only variables that lib/config.ts reads (or the allowlist)', () => {
  for (const service of APP_SERVICES) {
    const unknown = Object.keys(environmentOf(service)).filter(
      (name) => !ENV_VARIABLES.includes(name) && !ALLOWED_EXTRA_VARIABLES.includes(name),
    );
    assert.deepEqual(unknown, [], `${service} sets variables the code never reads: ${unknown.join(', ')}`);
  }
});

test('app services run with NODE_ENV=production and every production secret set from the operator', () => {
  for (const service of APP_SERVICES) {
    const env = environmentOf(service);
    assert.equal(env.NODE_ENV, 'production', `${service} NODE_ENV`);
    for (const secret of Object.keys(DEV_SECRETS)) {
      assert.ok(env[secret], `${service} sets ${secret}`);
      assert.match(env[secret], new RegExp(`^\\$\\{${secret}:\\?[^}]+\\}$`), `${service}.${secret} is \${${secret}:?…}`);
    }
    assert.match(env.DATABASE_URL, /\$\{POSTGRES_PASSWORD:\?[^}]+\}/, `${service} DATABASE_URL takes POSTGRES_PASSWORD`);
  }
});

test('no secret or password has a default anywhere in the file', () => {
  for (const name of [...Object.keys(DEV_SECRETS), 'POSTGRES_PASSWORD']) {
    assert.doesNotMatch(source, new RegExp(`\\$\\{${name}:?-`), `${name} must not have a default`);
  }
  const devValues: string[] = Object.values(DEV_SECRETS);
  for (const [name, service] of Object.entries(compose.services)) {
    if (!service.environment) continue;
    for (const [key, value] of Object.entries(environmentOf(name))) {
      if (!/SECRET|PASSWORD|PWD|ACCESS_KEY|ROOT_USER/.test(key)) continue;
      assert.ok(!devValues.includes(value), `${name}.${key} is a development secret`);
    }
  }
});

test('loadConfig accepts each app service environment with sample secrets', () => {
  for (const service of APP_SERVICES) {
    const env = resolvedEnvironmentOf(service);
    const config = loadConfig(env);
    assert.equal(config.env, 'production');
    assert.equal(config.storage.s3.secretKey, SAMPLE_SECRETS.S3_SECRET_KEY);
    assert.equal(config.storage.signingSecret, SAMPLE_SECRETS.STORAGE_SIGNING_SECRET);
    assert.ok(config.database.url.includes(SAMPLE_SECRETS.POSTGRES_PASSWORD), `${service} DATABASE_URL`);
    assert.equal(config.temporal.address, 'temporal:7233');
  }
});

test('workers export metrics on 0.0.0.0:9464 and use the prebuilt workflow bundle', () => {
  for (const service of ['worker', 'heavy-worker', 'worker-ai']) {
    const env = resolvedEnvironmentOf(service);
    assert.equal(env.WORKER_METRICS_ADDRESS, '0.0.0.0:9464', service);
    assert.equal(loadConfig(env).temporal.workflowBundlePath, '/app/dist/workflow-bundle.js', service);
  }
});

test('heavy-worker runs exactly one replica', () => {
  assert.equal(compose.services['heavy-worker'].deploy?.replicas, 1);
});

test('temporal-ui is published on 8233', () => {
  const ports = compose.services['temporal-ui'].ports ?? [];
  assert.ok(
    ports.some((p) => /(^|:)8233:8080$/.test(String(p))),
    `temporal-ui ports ${JSON.stringify(ports)} must map 8233 → 8080`,
  );
});

test('the api is published on 3000 and listens where its config says', () => {
  assert.ok((compose.services.api.ports ?? []).some((p) => /(^|:)3000:3000$/.test(String(p))));
  assert.equal(loadConfig(resolvedEnvironmentOf('api')).api.port, 3000);
});

test('app services wait for healthy dependencies and the one-shot setup services', () => {
  for (const service of ['api', 'worker', 'heavy-worker', 'worker-ai']) {
    const deps = compose.services[service].depends_on;
    assert.ok(deps && !Array.isArray(deps), `${service} depends_on with conditions`);
    assert.equal(deps.postgresql?.condition, 'service_healthy');
    assert.equal(deps.temporal?.condition, 'service_healthy');
    assert.equal(deps.minio?.condition, 'service_healthy');
    assert.equal(deps['temporal-setup']?.condition, 'service_completed_successfully');
    assert.equal(deps['minio-init']?.condition, 'service_completed_successfully');
    assert.equal(deps.migrate?.condition, 'service_completed_successfully');
    assert.ok(compose.services[service].healthcheck, `${service} has a healthcheck`);
  }
  for (const service of ['postgresql', 'temporal', 'minio', 'mailpit']) {
    assert.ok(compose.services[service].healthcheck, `${service} has a healthcheck`);
  }
});

test('the setup scripts register the search attributes and create the buckets', () => {
  const sa = readFileSync(new URL('../../deploy/temporal/register-search-attributes.sh', import.meta.url), 'utf8');
  for (const [name, type] of [
    ['TenantId', 'Keyword'],
    ['OwnerId', 'Keyword'],
    ['JobKind', 'Keyword'],
    ['Stage', 'Keyword'],
    ['StageSince', 'Datetime'],
  ]) {
    assert.match(sa, new RegExp(`^register ${name} ${type}$`, 'm'));
  }
  assert.match(sa, /temporal operator search-attribute create/);
  const buckets = readFileSync(new URL('../../deploy/minio-init.sh', import.meta.url), 'utf8');
  assert.match(buckets, /for kind in uploads originals proxies thumbnails exports;/);
  assert.equal(resolvedEnvironmentOf('minio-init').STORAGE_BUCKET_PREFIX, loadConfig(resolvedEnvironmentOf('api')).storage.bucketPrefix);
});

test('the checks fail on an unknown variable or a missing secret', () => {
  const env = { ...resolvedEnvironmentOf('api') };
  const unknown = Object.keys({ ...env, MOVIOLA_TYPO: 'x' }).filter(
    (name) => !ENV_VARIABLES.includes(name) && !ALLOWED_EXTRA_VARIABLES.includes(name),
  );
  assert.deepEqual(unknown, ['MOVIOLA_TYPO']);
  delete env.STORAGE_SIGNING_SECRET;
  assert.throws(() => loadConfig(env), /STORAGE_SIGNING_SECRET/);
  assert.throws(() => interpolate('${NOT_A_KNOWN_SECRET:?set it}', 'x'), /no sample value/);
  assert.throws(() => interpolate('${UNGUARDED}', 'x'), /neither a default nor a required marker/);
});
