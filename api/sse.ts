/**
 * Server-sent events over a polled projection: the first snapshot at once, then one event each
 * time the snapshot changes, a keep-alive comment every 15 s, and the end of the stream when the
 * snapshot says it is final, the client leaves, or an hour has passed (EventSource reconnects).
 */
import { PassThrough } from 'node:stream';
import type { ApiContext } from './openapi/registry.ts';

const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;
const MAX_MS = 60 * 60_000;

export interface Snapshot {
  data: unknown;
  /** The event id (e.g. the row's updated_at in ms). */
  id: string;
  final: boolean;
}

export function streamSnapshots(ctx: ApiContext, event: string, first: Snapshot, read: () => Promise<Snapshot>): void {
  const stream = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  ctx.status = 200;
  ctx.body = stream;

  let last = '';
  let closed = false;
  const started = Date.now();
  let lastWrite = Date.now();
  const send = (snapshot: Snapshot) => {
    const data = JSON.stringify(snapshot.data);
    if (data === last) return;
    last = data;
    lastWrite = Date.now();
    stream.write(`event: ${event}\nid: ${snapshot.id}\ndata: ${data}\n\n`);
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    stream.end();
  };
  ctx.req.on('close', finish);
  send(first);
  if (first.final) return finish();

  void (async () => {
    while (!closed) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (closed) break;
      try {
        const snapshot = await read();
        send(snapshot);
        if (snapshot.final) break;
      } catch (err) {
        ctx.state.log.warn({ err }, `${event} events: read failed; the client may reconnect`);
        break;
      }
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        stream.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      if (Date.now() - started > MAX_MS) break;
    }
    finish();
  })();
}
