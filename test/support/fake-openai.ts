/**
 * A local OpenAI-compatible HTTP server for tests (node:http): `POST /v1/audio/transcriptions`
 * (multipart, parsed with busboy) and `POST /v1/chat/completions` (JSON) record every request —
 * headers (Authorization included), form fields (model, language, response_format,
 * timestamp_granularities[]…), the file's name and size, or the JSON body — and answer what the test
 * scripted for that call, in order (then the default behaviour; one script for both routes):
 *
 * - `ok`: 200 with `body`, else verbose_json (segments with times, `usage.seconds`) for a
 *   transcription, DEFAULT_CHAT_COMPLETION for a chat completion; an `x-request-id` header;
 * - `status`: any status with an OpenAI-style error body and headers (429 + Retry-After, 500, 401…);
 * - `hang`: never answers (until the client gives up or the server closes);
 * - `invalid-json`: 200 `application/json` whose body is not JSON;
 * - `raw`: any status, content type and body.
 *
 * With `expectedKey`, a request whose bearer token differs is answered 401 like OpenAI does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import busboy from 'busboy';

export type FakeBehaviour =
  | { kind: 'ok'; body?: Record<string, unknown>; headers?: Record<string, string> }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'invalid-json'; status?: number }
  | { kind: 'raw'; status: number; contentType: string; body: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Form fields; a repeated field (e.g. `timestamp_granularities[]`) is an array. */
  fields: Record<string, string | string[]>;
  file: { field: string; filename: string; mimeType: string; size: number } | null;
  /** The parsed JSON body of a chat completion request, else null. */
  json: unknown;
  /** What the server answered (or `hang`). */
  answered: FakeBehaviour['kind'] | 'unauthorized' | 'not-found';
  /** The `x-request-id` the answer carried, if any. */
  requestId: string | null;
}

export interface FakeOpenAi {
  /** The base URL to configure (`OPENAI_BASE_URL`): `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Behaviours for the next calls, in order; after them, the default. */
  script(...behaviours: FakeBehaviour[]): void;
  setDefault(behaviour: FakeBehaviour): void;
  /** Forgets recorded requests and pending scripted behaviours; the default back to `ok`. */
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_TRANSCRIPTION = {
  task: 'transcribe',
  language: 'english',
  duration: 3.5,
  text: ' Hello there. General Kenobi.',
  segments: [
    { id: 0, seek: 0, start: 0.0, end: 1.48, text: ' Hello there.', tokens: [50364, 2425, 456, 13], temperature: 0, avg_logprob: -0.2, compression_ratio: 0.9, no_speech_prob: 0.01 },
    { id: 1, seek: 0, start: 1.52, end: 3.5, text: ' General Kenobi.', tokens: [50440, 6996, 38613, 13], temperature: 0, avg_logprob: -0.25, compression_ratio: 0.9, no_speech_prob: 0.02 },
  ],
  usage: { type: 'duration', seconds: 4 },
} as const;

/** A chat completion whose message content is `content` (a structured-output answer is a JSON string). */
export function chatCompletion(content: string, usage: { prompt_tokens: number; completion_tokens: number } = { prompt_tokens: 321, completion_tokens: 45 }) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_767_225_600,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

export const DEFAULT_CHAT_COMPLETION = chatCompletion(JSON.stringify({ deltas: [], confirmed_genre: null, summary: 'No change asked for.' }));

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return null;
  }
}

function parseMultipart(req: IncomingMessage): Promise<Pick<RecordedRequest, 'fields' | 'file'>> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string | string[]> = {};
    let file: RecordedRequest['file'] = null;
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers });
    } catch (err) {
      reject(err);
      return;
    }
    parser.on('field', (name, value) => {
      const existing = fields[name];
      fields[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    });
    parser.on('file', (field, stream, info) => {
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
      });
      stream.on('end', () => {
        file = { field, filename: info.filename ?? '', mimeType: info.mimeType, size };
      });
    });
    parser.on('close', () => resolve({ fields, file }));
    parser.on('error', reject);
    req.pipe(parser);
  });
}

export async function startFakeOpenAi(options: { expectedKey?: string } = {}): Promise<FakeOpenAi> {
  const requests: RecordedRequest[] = [];
  let queue: FakeBehaviour[] = [];
  let fallback: FakeBehaviour = { kind: 'ok' };
  let counter = 0;
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const requestId = `req_fake_${++counter}`;
    const isTranscription = req.method === 'POST' && path === '/v1/audio/transcriptions';
    const isChat = req.method === 'POST' && path === '/v1/chat/completions';
    const parsed = isTranscription ? await parseMultipart(req) : { fields: {}, file: null };
    const body = isChat ? await readJson(req) : null;
    if (!isTranscription && !isChat) req.resume();
    const recorded: RecordedRequest = { method: req.method ?? '', path, headers: { ...req.headers }, ...parsed, json: body, answered: 'not-found', requestId };
    requests.push(recorded);
    const json = { 'content-type': 'application/json', 'x-request-id': requestId };

    if (!isTranscription && !isChat) {
      send(res, 404, JSON.stringify({ error: { message: `Unknown route ${req.method} ${path}`, type: 'invalid_request_error' } }), json);
      return;
    }
    if (options.expectedKey !== undefined && req.headers.authorization !== `Bearer ${options.expectedKey}`) {
      recorded.answered = 'unauthorized';
      send(res, 401, JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }), json);
      return;
    }
    const behaviour = queue.shift() ?? fallback;
    recorded.answered = behaviour.kind;
    switch (behaviour.kind) {
      case 'ok':
        send(res, 200, JSON.stringify(behaviour.body ?? (isChat ? DEFAULT_CHAT_COMPLETION : DEFAULT_TRANSCRIPTION)), { ...json, ...behaviour.headers });
        return;
      case 'status': {
        const body = behaviour.body ?? { error: { message: `Scripted status ${behaviour.status}`, type: behaviour.status >= 500 ? 'server_error' : 'invalid_request_error' } };
        send(res, behaviour.status, JSON.stringify(body), { ...json, ...behaviour.headers });
        return;
      }
      case 'invalid-json':
        send(res, behaviour.status ?? 200, '{"text": "Hello there", "segments": [', json);
        return;
      case 'raw':
        send(res, behaviour.status, behaviour.body, { 'content-type': behaviour.contentType, 'x-request-id': requestId });
        return;
      case 'hang':
        recorded.requestId = null;
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: { message: `fake server: ${String(err)}`, type: 'server_error' } }), { 'content-type': 'application/json' });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script(...behaviours) {
      queue.push(...behaviours);
    },
    setDefault(behaviour) {
      fallback = behaviour;
    },
    reset() {
      requests.length = 0;
      queue = [];
      fallback = { kind: 'ok' };
    },
    async close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
