/**
 * Splits a byte stream of concatenated JPEG images (ffmpeg `-f image2pipe -c:v mjpeg`) into whole
 * images, chunk by chunk, by walking the JPEG marker structure: SOI, length-prefixed segments (so
 * an EXIF thumbnail or any 0xFFD9 inside APPn/COM data is skipped by its length), entropy-coded
 * data after each SOS (where 0xFF00 is a stuffed byte and 0xFFD0–D7 are restart markers), and EOI.
 * Progressive images (several SOS with tables between them) are handled the same way.
 *
 * Memory: only the current, incomplete image is held (as views of the input chunks), capped by
 * `maxImageBytes`.
 */

type State =
  | 'soi0' // expecting 0xFF of SOI (between images)
  | 'soi1' // expecting 0xD8
  | 'marker' // expecting 0xFF that starts a marker
  | 'code' // expecting the marker code (0xFF fill bytes allowed)
  | 'len0'
  | 'len1'
  | 'skip' // inside a segment's payload
  | 'entropy' // inside entropy-coded data
  | 'entropyFF'; // just read 0xFF inside entropy-coded data

export class JpegStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JpegStreamError';
  }
}

export interface JpegSplitterOptions {
  /** An image larger than this is an error (protects against unbounded buffering). Default 256 MiB. */
  maxImageBytes?: number;
}

export class JpegSplitter {
  private state: State = 'soi0';
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private lenHi = 0;
  private skipLeft = 0;
  private afterSkip: 'marker' | 'entropy' = 'marker';
  private offset = 0; // bytes consumed in total, for error messages
  private readonly maxImageBytes: number;

  constructor(options: JpegSplitterOptions = {}) {
    this.maxImageBytes = options.maxImageBytes ?? 256 * 1024 * 1024;
  }

  /** True when no image is partly read (a clean end of stream is possible). */
  get idle(): boolean {
    return this.state === 'soi0';
  }

  /** Feeds the next chunk; returns the images completed by it, in order. Throws JpegStreamError on malformed data. */
  push(chunk: Buffer): Buffer[] {
    const images: Buffer[] = [];
    let start = 0; // where the current image's bytes begin within this chunk
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case 'soi0':
          if (chunk[i] !== 0xff) this.fail(`expected the start of a JPEG image, found 0x${chunk[i]!.toString(16)}`, i);
          start = i;
          i++;
          this.state = 'soi1';
          break;
        case 'soi1':
          if (chunk[i] !== 0xd8) this.fail('expected SOI (0xFFD8)', i);
          i++;
          this.state = 'marker';
          break;
        case 'marker':
          if (chunk[i] !== 0xff) this.fail(`expected a marker, found 0x${chunk[i]!.toString(16)}`, i);
          i++;
          this.state = 'code';
          break;
        case 'code':
        case 'entropyFF': {
          const code = chunk[i++]!;
          if (code === 0xff) break; // fill byte; still waiting for the code
          if (this.state === 'entropyFF' && (code === 0x00 || (code >= 0xd0 && code <= 0xd7))) {
            this.state = 'entropy'; // stuffed 0xFF or a restart marker: still entropy-coded data
            break;
          }
          if (code === 0xd9) {
            // EOI: the image is complete.
            const tail = chunk.subarray(start, i);
            const image = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail], this.partsBytes + tail.length);
            this.parts = [];
            this.partsBytes = 0;
            this.state = 'soi0';
            images.push(image);
            start = i;
            break;
          }
          if (code === 0xd8 || code === 0x00) this.fail(`unexpected marker 0xFF${code.toString(16).padStart(2, '0')}`, i - 1);
          if (code === 0x01 || (code >= 0xd0 && code <= 0xd7)) {
            this.state = 'marker'; // TEM / stray RSTn: no length
            break;
          }
          this.afterSkip = code === 0xda ? 'entropy' : 'marker';
          this.state = 'len0';
          break;
        }
        case 'len0':
          this.lenHi = chunk[i++]!;
          this.state = 'len1';
          break;
        case 'len1': {
          const length = (this.lenHi << 8) | chunk[i++]!;
          if (length < 2) this.fail(`segment length ${length} is invalid`, i - 2);
          this.skipLeft = length - 2;
          this.state = this.skipLeft === 0 ? this.afterSkip : 'skip';
          break;
        }
        case 'skip': {
          const step = Math.min(this.skipLeft, n - i);
          i += step;
          this.skipLeft -= step;
          if (this.skipLeft === 0) this.state = this.afterSkip;
          break;
        }
        case 'entropy': {
          const ff = chunk.indexOf(0xff, i);
          if (ff === -1) {
            i = n;
          } else {
            i = ff + 1;
            this.state = 'entropyFF';
          }
          break;
        }
      }
    }
    if (this.state !== 'soi0' && start < n) {
      const rest = chunk.subarray(start);
      this.parts.push(rest);
      this.partsBytes += rest.length;
      if (this.partsBytes > this.maxImageBytes) this.fail(`an image exceeds ${this.maxImageBytes} bytes`, n);
    }
    this.offset += n;
    return images;
  }

  /** Declares the end of the stream; throws when an image was left incomplete. */
  end(): void {
    if (this.state !== 'soi0') throw new JpegStreamError(`the stream ended inside a JPEG image (${this.partsBytes} bytes read of it)`);
  }

  private fail(message: string, index: number): never {
    throw new JpegStreamError(`${message} at byte ${this.offset + index} of the image stream`);
  }
}
