/** Reading the start of a stream to learn whether it is small, without losing any of it. */
import type { Readable } from 'node:stream';

export interface StreamHead {
  /** The bytes read so far, already put back into the stream when it has more (`ended` false). */
  head: Buffer;
  /** True when the stream ended within `limit` bytes: `head` is then the whole content. */
  ended: boolean;
}

/**
 * Reads until more than `limit` bytes have arrived or the stream ends. When it has not ended,
 * the bytes are unshifted back so the stream can be consumed from its start. Rejects on error.
 */
export function readHead(body: Readable, limit: number): Promise<StreamHead> {
  return new Promise<StreamHead>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const cleanup = () => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = body.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes > limit) {
          cleanup();
          const head = Buffer.concat(chunks);
          body.unshift(head);
          resolve({ head, ended: false });
          return;
        }
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ head: Buffer.concat(chunks), ended: true });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (body.readableEnded) return;
      cleanup();
      reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    body.on('readable', onReadable);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
    if (body.readableEnded) onEnd();
  });
}
