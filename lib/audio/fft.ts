/**
 * Real-input FFT (radix-2), the hot path of every spectral analyser.
 *
 * A real signal of size N is packed into a complex signal of size N/2 (even samples → real part,
 * odd samples → imaginary part), transformed by an iterative in-place radix-2/4 complex FFT, then
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
  /** Per radix-4 stage (quarter span q), for j < q: Re/Im of w = e^{−2πij/4q} and of w². */
  private readonly stageTwiddles: Float64Array;
  /** log2(N/2) is odd: one radix-2 stage first. */
  private readonly oddStages: boolean;
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
    this.oddStages = bits % 2 === 1;
    const twiddles: number[] = [];
    for (let q = this.oddStages ? 2 : 1; q < m; q <<= 2) {
      for (let j = 0; j < q; j++) {
        const angle = (-2 * Math.PI * j) / (4 * q);
        twiddles.push(Math.cos(angle), Math.sin(angle), Math.cos(2 * angle), Math.sin(2 * angle));
      }
    }
    this.stageTwiddles = Float64Array.from(twiddles);
    this.splitCos = new Float64Array(m + 1);
    this.splitSin = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      this.splitCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.splitSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.re = new Float64Array(m);
    this.im = new Float64Array(m);
  }

  /**
   * In-place complex FFT of this.re / this.im (already in bit-reversed order): one radix-2 stage
   * when log2(N/2) is odd, then radix-4 stages (each one pass over the data for two radix-2 stages,
   * with per-stage contiguous twiddles).
   */
  private complexTransform(): void {
    const re = this.re;
    const im = this.im;
    const m = this.half;
    let q = 1;
    if (this.oddStages) {
      for (let i = 0; i < m; i += 2) {
        const ar = re[i], ai = im[i], br = re[i + 1], bi = im[i + 1];
        re[i] = ar + br;
        im[i] = ai + bi;
        re[i + 1] = ar - br;
        im[i + 1] = ai - bi;
      }
      q = 2;
    }
    const tw = this.stageTwiddles;
    let base = 0;
    for (; q < m; q <<= 2) {
      const span = q << 2;
      for (let j = 0; j < q; j++) {
        const t = base + 4 * j;
        const wr = tw[t], wi = tw[t + 1], w2r = tw[t + 2], w2i = tw[t + 3];
        for (let i0 = j; i0 < m; i0 += span) {
          const i1 = i0 + q, i2 = i1 + q, i3 = i2 + q;
          // Stage with span q: (i0, i1) and (i2, i3), twiddle w².
          const x1r = re[i1] * w2r - im[i1] * w2i;
          const x1i = re[i1] * w2i + im[i1] * w2r;
          const x3r = re[i3] * w2r - im[i3] * w2i;
          const x3i = re[i3] * w2i + im[i3] * w2r;
          const ar = re[i0] + x1r, ai = im[i0] + x1i;
          const br = re[i0] - x1r, bi = im[i0] - x1i;
          const cr0 = re[i2] + x3r, ci0 = im[i2] + x3i;
          const dr0 = re[i2] - x3r, di0 = im[i2] - x3i;
          // Stage with span 2q: (i0, i2) twiddle w, (i1, i3) twiddle w·(−i).
          const cr = cr0 * wr - ci0 * wi;
          const ci = cr0 * wi + ci0 * wr;
          const dr = dr0 * wi + di0 * wr; // (d·w)·(−i) = (Im(d·w), −Re(d·w))
          const di = -(dr0 * wr - di0 * wi);
          re[i0] = ar + cr;
          im[i0] = ai + ci;
          re[i2] = ar - cr;
          im[i2] = ai - ci;
          re[i1] = br + dr;
          im[i1] = bi + di;
          re[i3] = br - dr;
          im[i3] = bi - di;
        }
      }
      base += 4 * q;
    }
  }

  /**
   * Forward transform of `input[offset … offset + N)`; samples outside the input (a negative
   * offset, past the end) read as 0.
   * Writes the N/2 + 1 bins to `outRe` / `outIm` (unnormalized: X[k] = Σ x[n]·e^{−2πikn/N}).
   */
  forward(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array, offset = 0): void {
    this.load(input, offset);
    this.complexTransform();
    this.split(outRe, outIm, null);
  }

  /**
   * |X[k]| for k = 0 … N/2 into `out[outOffset …]`; same input conventions as `forward`. With
   * `window` (length N), the input is multiplied by it on the way in (no separate windowing pass).
   */
  magnitudes(input: ArrayLike<number>, out: Float32Array | Float64Array, outOffset = 0, offset = 0, window?: Float64Array): void {
    this.load(input, offset, window);
    this.complexTransform();
    this.splitMagnitudes(out, outOffset);
  }

  private load(input: ArrayLike<number>, offset: number, window?: Float64Array): void {
    const re = this.re;
    const im = this.im;
    const rev = this.bitrev;
    const m = this.half;
    const available = input.length - offset;
    const inside = offset >= 0 && available >= this.size;
    if (inside && window) {
      for (let k = 0; k < m; k++) {
        const r = rev[k];
        const i = 2 * k;
        re[r] = input[offset + i] * window[i];
        im[r] = input[offset + i + 1] * window[i + 1];
      }
    } else if (inside) {
      for (let k = 0; k < m; k++) {
        const r = rev[k];
        re[r] = input[offset + 2 * k];
        im[r] = input[offset + 2 * k + 1];
      }
    } else if (window) {
      for (let k = 0; k < m; k++) {
        const r = rev[k];
        const i0 = 2 * k;
        re[r] = i0 < available && offset + i0 >= 0 ? input[offset + i0] * window[i0] : 0;
        im[r] = i0 + 1 < available && offset + i0 + 1 >= 0 ? input[offset + i0 + 1] * window[i0 + 1] : 0;
      }
    } else {
      for (let k = 0; k < m; k++) {
        const r = rev[k];
        const i0 = 2 * k;
        re[r] = i0 < available && offset + i0 >= 0 ? input[offset + i0] : 0;
        im[r] = i0 + 1 < available && offset + i0 + 1 >= 0 ? input[offset + i0 + 1] : 0;
      }
    }
  }

  /** The magnitude-only split (the spectrogram's hot loop). */
  private splitMagnitudes(mag: Float32Array | Float64Array, magOffset: number): void {
    const re = this.re;
    const im = this.im;
    const m = this.half;
    const sc = this.splitCos;
    const ss = this.splitSin;
    mag[magOffset] = Math.abs(re[0] + im[0]);
    mag[magOffset + m] = Math.abs(re[0] - im[0]);
    for (let k = 1; k < m; k++) {
      const a = re[k], b = im[k], c = re[m - k], d = im[m - k];
      const er = a + c;
      const ei = b - d;
      const or = b + d;
      const oi = c - a;
      const wr = sc[k];
      const wi = ss[k];
      // 2·X[k] = (er + i·ei) + (wr − i·wi)(or + i·oi)
      const xr = er + wr * or + wi * oi;
      const xi = ei + wr * oi - wi * or;
      mag[magOffset + k] = 0.5 * Math.sqrt(xr * xr + xi * xi);
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
