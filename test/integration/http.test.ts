/**
 * The API's HTTP contract on the real stack: error shape, body limits, health/ready/metrics,
 * OpenAPI and docs, request id and trace context, security headers.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { registerTenant, type Session } from '../support/accounts.ts';

type ErrorBody = { error: { code: string; message: string; details?: unknown } };

async function objectsUnder(stack: TestStack, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of stack.storage.list('uploads', prefix)) keys.push(info.key);
  return keys;
}

describe('HTTP contract', { timeout: 60_000 }, () => {
  let stack: TestStack;
  let session: Session;
  let auth: Record<string, string>;
  before(async () => {
    // Small limits so the 413 rows are cheap to exercise.
    stack = await startTestStack({ name: 'http', env: { MAX_UPLOAD_MB: '1', JSON_BODY_LIMIT_KB: '1' } });
    session = await registerTenant(stack.baseUrl);
    auth = { authorization: `Bearer ${session.access}` };
  });
  after(async () => {
    await stack?.stop();
  });

  it('answers an unknown route 404 in the error shape', async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/nope`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.match(body.error.message, /nope/);
  });

  it('answers malformed JSON 400 INVALID_JSON', async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/probe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"broken": ' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'INVALID_JSON');
  });

  it('answers a JSON body over the limit 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/probe`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(4096) }),
    });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('answers a non-multipart probe 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/probe`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}' });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers multipart without a file 400 FILE_REQUIRED', async () => {
    const form = new FormData();
    form.append('title', 'no file here');
    const res = await fetch(`${stack.baseUrl}/api/v1/probe`, { method: 'POST', body: form, headers: auth });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'FILE_REQUIRED');
  });

  it('answers an upload over the limit 413 and keeps nothing in storage', async () => {
    const prefix = `${session.tenantId}/probe/`;
    const before = await objectsUnder(stack, prefix);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(1024 * 1024 + 4096).fill(7)]), 'big.mp4');
    const res = await fetch(`${stack.baseUrl}/api/v1/probe`, { method: 'POST', body: form, headers: auth });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as ErrorBody).error.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(await objectsUnder(stack, prefix), before);
  });

  it('stops a streamed upload over the limit when no Content-Length is declared', async () => {
    const prefix = `${session.tenantId}/probe/`;
    const before = await objectsUnder(stack, prefix);
    const boundary = 'moviolaboundary';
    const chunks = [
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="stream.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
      ...Array.from({ length: 20 }, () => 'y'.repeat(100 * 1024)),
      `\r\n--${boundary}--\r\n`,
    ];
    const body = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await fetch(`${stack.baseUrl}/api/v1/probe`, {
      method: 'POST', body, duplex: 'half', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...auth },
    } as RequestInit & { duplex: 'half' });
    assert.equal(res.status, 413);
    assert.deepEqual(await objectsUnder(stack, prefix), before);
  });

  it('reports liveness and readiness of every dependency', async () => {
    for (const path of ['/health', '/api/v1/health']) {
      const res = await fetch(`${stack.baseUrl}${path}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    }
    const res = await fetch(`${stack.baseUrl}/api/v1/ready`);
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks).sort(), ['postgresql', 'storage', 'temporal']);
    for (const check of Object.values(body.checks)) assert.equal(check.status, 'ok');
  });

  it('exports Prometheus metrics by route template and status', async () => {
    await fetch(`${stack.baseUrl}/api/v1/probe/00000000-0000-4000-8000-000000000000`, { headers: auth });
    const res = await fetch(`${stack.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /http_requests_total\{method="GET",route="\/api\/v1\/probe\/:id",status="404"\} \d+/);
    assert.match(text, /http_request_duration_seconds_bucket\{/);
    assert.match(text, /process_cpu_user_seconds_total/);
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas, and a docs page', async () => {
    const res = await fetch(`${stack.baseUrl}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: Array<{ name: string }> }>> };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/probe']?.post?.responses['202']);
    assert.deepEqual(doc.paths['/api/v1/probe/{id}']?.get?.parameters?.map((p) => p.name), ['id']);
    assert.ok(doc.paths['/api/v1/ready']?.get);

    const security = doc as unknown as { components: { securitySchemes: Record<string, { type: string; scheme: string }> }; paths: Record<string, Record<string, { security?: unknown[] }>> };
    assert.deepEqual(security.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /api/v1/auth/login' });
    assert.deepEqual(security.paths['/api/v1/probe']?.post?.security, [{ bearerAuth: [] }]);
    assert.deepEqual(security.paths['/api/v1/users/{id}']?.delete?.security, [{ bearerAuth: [] }]);
    assert.deepEqual(security.paths['/api/v1/auth/login']?.post?.security, []);
    assert.deepEqual(security.paths['/health']?.get?.security, []);

    const page = await fetch(`${stack.baseUrl}/docs`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /swagger-ui-bundle\.js/);
    const asset = await fetch(`${stack.baseUrl}/docs/swagger-ui-bundle.js`);
    assert.equal(asset.status, 200);
    assert.ok((await asset.arrayBuffer()).byteLength > 100_000);
  });

  it('echoes a request id and continues the caller\'s trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${stack.baseUrl}/health`, { headers: { 'x-request-id': 'req-123', traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    assert.equal(res.headers.get('x-request-id'), 'req-123');
    assert.match(res.headers.get('traceparent') ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const fresh = await fetch(`${stack.baseUrl}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(fresh.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('sets security headers on API responses', async () => {
    const res = await fetch(`${stack.baseUrl}/api/v1/nope`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });
});
