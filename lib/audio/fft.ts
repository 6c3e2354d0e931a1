/**
 * Real-input FFT (radix-2), the hot path of every spectral analyser.
 *
 * A real signal of size N is packed into a complex signal of size N/2 (even samples → real part,
 * odd samples → imaginary part), transformed by an iterative in-place radix-2 complex FFT, then
 * split into the N/2 + 1 non-negative-frequency bins. Twiddles and the bit-reversal permutation are
 * computed once per size; `forward` and `magnitudes` allocate nothing, so one `RealFft` is reused for
 * every frame of a spectrogram. Not thread-safe: one instance per caller (they are cheap).
 */

export class RealFft {
  /** Transform size N (a power of two, ≥ 4). */
  readonly size: number;
  /** Number of output bins: N/2 + 1 (DC … Nyquist). */
  readonly bins: number;
  private readonly half: number;
  /** Bit-reversal permutation of 0 … N/2 − 1. */
  private readonly bitrev: Uint32Array;
  /** cos / sin(2πk / (N/2)) for k < N/4: the complex FFT's twiddles. */
  private readonly cosTable: Float64Array;
  private readonly sinTable: Float64Array;
  /** cos / sin(2πk / N) for k ≤ N/2: the real-split twiddles. */
  private readonly splitCos: Float64Array;
  private readonly splitSin: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new RangeError(`FFT size must be a power of two >= 4, got ${size}`);
    }
    this.size = size;
    this.half = size >>> 1;
    this.bins = this.half + 1;
    const m = this.half;
    const bits = Math.round(Math.log2(m));
    this.bitrev = new Uint32Array(m);
    for (let i = 0; i < m; i++) {
      let r = 0;
      for (let b = 0, x = i; b < bits; b++, x >>>= 1) r = (r << 1) | (x & 1);
      this.bitrev[i] = r;
    }
    const quarter = Math.max(1, m >>> 1);
    this.cosTable = new Float64Array(quarter);
    this.sinTable = new Float64Array(quarter);
    for (let k = 0; k < quarter; k++) {
      this.cosTable[k] = Math.cos((2 * Math.PI * k) / m);
      this.sinTable[k] = Math.sin((2 * Math.PI * k) / m);
    }
    this.splitCos = new Float64Array(m + 1);
    this.splitSin = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      this.splitCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.splitSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.re = new Float64Array(m);
    this.im = new Float64Array(m);
  }

  /** In-place complex FFT of this.re / this.im (already in bit-reversed order). */
  private complexTransform(): void {
    const re = this.re;
    const im = this.im;
    const m = this.half;
    const cosT = this.cosTable;
    const sinT = this.sinTable;
    // First stage (span 1) without twiddles.
    for (let i = 0; i < m; i += 2) {
      const ar = re[i], ai = im[i], br = re[i + 1], bi = im[i + 1];
      re[i] = ar + br;
      im[i] = ai + bi;
      re[i + 1] = ar - br;
      im[i + 1] = ai - bi;
    }
    for (let span = 2; span < m; span <<= 1) {
      const step = m / (span << 1); // twiddle index stride
      for (let start = 0; start < m; start += span << 1) {
        for (let j = 0, t = 0; j < span; j++, t += step) {
          const wr = cosT[t];
          const wi = -sinT[t];
          const a = start + j;
          const b = a + span;
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }

  /**
   * Forward transform of `input[offset … offset + N)` (missing samples past the end read as 0).
   * Writes the N/2 + 1 bins to `outRe` / `outIm` (unnormalized: X[k] = Σ x[n]·e^{−2πikn/N}).
   */
  forward(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array, offset = 0): void {
    this.load(input, offset);
    this.complexTransform();
    this.split(outRe, outIm, null);
  }

  /** |X[k]| for k = 0 … N/2 into `out[outOffset …]`; same input conventions as `forward`. */
  magnitudes(input: ArrayLike<number>, out: Float32Array | Float64Array, outOffset = 0, offset = 0): void {
    this.load(input, offset);
    this.complexTransform();
    this.split(null, null, out, outOffset);
  }

  private load(input: ArrayLike<number>, offset: number): void {
    const re = this.re;
    const im = this.im;
    const rev = this.bitrev;
    const m = this.half;
    const available = input.length - offset;
    if (available >= this.size) {
      for (let k = 0; k < m; k++) {
        const r = rev[k];
        re[r] = input[offset + 2 * k];
        im[r] = input[offset + 2 * k + 1];
      }
    } else {
      for (let k = 0; k < m; k++) {
        const r = rev[k];
        const i0 = 2 * k;
        re[r] = i0 < available ? input[offset + i0] : 0;
        im[r] = i0 + 1 < available ? input[offset + i0 + 1] : 0;
      }
    }
  }

  private split(
    outRe: Float64Array | null,
    outIm: Float64Array | null,
    mag: Float32Array | Float64Array | null,
    magOffset = 0,
  ): void {
    const re = this.re;
    const im = this.im;
    const m = this.half;
    const sc = this.splitCos;
    const ss = this.splitSin;
    // DC and Nyquist from Z[0].
    const dc = re[0] + im[0];
    const ny = re[0] - im[0];
    if (outRe && outIm) {
      outRe[0] = dc;
      outIm[0] = 0;
      outRe[m] = ny;
      outIm[m] = 0;
    }
    if (mag) {
      mag[magOffset] = Math.abs(dc);
      mag[magOffset + m] = Math.abs(ny);
    }
    for (let k = 1; k < m; k++) {
      const a = re[k], b = im[k], c = re[m - k], d = im[m - k];
      const er = 0.5 * (a + c);
      const ei = 0.5 * (b - d);
      const or = 0.5 * (b + d);
      const oi = -0.5 * (a - c);
      const wr = sc[k];
      const wi = -ss[k];
      const xr = er + wr * or - wi * oi;
      const xi = ei + wr * oi + wi * or;
      if (outRe && outIm) {
        outRe[k] = xr;
        outIm[k] = xi;
      }
      if (mag) mag[magOffset + k] = Math.sqrt(xr * xr + xi * xi);
    }
  }
}

const cache = new Map<number, RealFft>();

/** A shared instance per size, for callers that transform one frame at a time on one thread. */
export function realFft(size: number): RealFft {
  let fft = cache.get(size);
  if (!fft) {
    fft = new RealFft(size);
    cache.set(size, fft);
  }
  return fft;
}
