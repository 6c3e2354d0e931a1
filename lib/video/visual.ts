/**
 * Per-frame visual measures on the small sampled pictures (lib/video/frames.ts: packed RGB24,
 * typically 64×36). All pure and allocation-light; the analysers call them once per sample.
 *
 * - luma: BT.601 weights on the (full-range) RGB ffmpeg delivers, 0–255.
 * - motion energy: the mean absolute luma difference of two consecutive samples, as a fraction of
 *   full scale (0–1). Cheap and monotone in how much of the picture moves and how far; a static
 *   shot reads ~0 (compression noise is well under 0.005), a pan or busy action 0.03–0.15.
 * - black: ffmpeg `blackdetect`'s defaults — at least 98 % of the pixels at or below 10 % luma.
 * - frozen: the motion energy between two samples below FROZEN_MOTION (0.002, about half a grey
 *   level on average: below what any real motion or camera noise produces, above the flicker of
 *   re-encoded still pictures); ffmpeg `freezedetect`'s −60 dB is 0.001.
 * - HSV histogram: 8 hue × 3 saturation × 3 value bins (72), soft-binned, normalized to sum 1.
 *   The saturation axis is the chroma, (max − min) / 255 (saturation × value, the HSV cone), so
 *   dark pixels, whose hue and saturation are noise, fall with the greys. Weight in the lowest
 *   saturation bin carries no reliable hue and goes to hue bin 0, so greys, whites and blacks are
 *   told apart by value only. Index = (hue · 3 + sat) · 3 + val.
 * - pHash: the classic 64-bit DCT perceptual hash — the luma resampled to 32×32 (area), its 2-D
 *   DCT-II, the 8×8 lowest-frequency coefficients (DC included) compared with their median;
 *   bit i (row-major over the 8×8, most significant first) is 1 when coefficient i is above it.
 *   16 hex digits. Near-duplicate pictures differ by a few bits, unrelated ones by ~32.
 */

export const HSV_HUE_BINS = 8;
export const HSV_SAT_BINS = 3;
export const HSV_VAL_BINS = 3;
export const HSV_BINS = HSV_HUE_BINS * HSV_SAT_BINS * HSV_VAL_BINS;

/** blackdetect: a pixel at or below this luma (10 % of 255) is black… */
export const BLACK_PIXEL_LUMA = 25.5;
/** …and a picture with at least this share of black pixels is black. */
export const BLACK_PICTURE_RATIO = 0.98;
/**
 * The per-second motion series' full scale: a mean absolute luma change of 5 % of full scale
 * between samples 100 ms apart reads 1 (fast handheld motion, a whip pan, a strobe-lit crowd).
 * Measured on real footage: a fixed camera on walking people ~0.1, a dialogue close-up 0.1–0.4,
 * handheld object tracking 0.2–0.8; synthetic patterns that change entirely every frame clamp at 1.
 */
export const MOTION_FULL_SCALE = 0.05;

/** Motion energy below which two samples count as the same picture (frozen). */
export const FROZEN_MOTION = 0.002;

/** BT.601 luma (0–255) of packed RGB24, into `out` when given (length pixels). */
export function lumaOf(rgb: Uint8Array, out?: Float32Array): Float32Array {
  const n = Math.floor(rgb.length / 3);
  const y = out ?? new Float32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 3) y[i] = 0.299 * rgb[p] + 0.587 * rgb[p + 1] + 0.114 * rgb[p + 2];
  return y;
}

/** Mean absolute difference of two luma planes as a fraction of full scale (0–1): the motion energy between them. */
export function motionEnergy(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(a[i] - b[i]);
  return sum / n / 255;
}

/** blackdetect's test on one picture's luma. */
export function isBlackFrame(luma: Float32Array): boolean {
  if (luma.length === 0) return false;
  let dark = 0;
  for (let i = 0; i < luma.length; i++) if (luma[i] <= BLACK_PIXEL_LUMA) dark++;
  return dark / luma.length >= BLACK_PICTURE_RATIO;
}

/** Block means of a luma plane (blocks of `block`×`block` pixels; partial edge blocks averaged over what they hold), row-major. */
export function blockMeans(luma: Float32Array, width: number, height: number, block: number): Float32Array {
  const bw = Math.ceil(width / block);
  const bh = Math.ceil(height / block);
  const sums = new Float32Array(bw * bh);
  const counts = new Uint16Array(bw * bh);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / block) * bw;
    for (let x = 0; x < width; x++) {
      const b = row + Math.floor(x / block);
      sums[b] += luma[y * width + x];
      counts[b]++;
    }
  }
  for (let i = 0; i < sums.length; i++) sums[i] /= counts[i] || 1;
  return sums;
}

/** The histogram index of hue bin h (0–7), saturation bin s (0–2), value bin v (0–2). */
export function hsvBinIndex(h: number, s: number, v: number): number {
  return (h * HSV_SAT_BINS + s) * HSV_VAL_BINS + v;
}

/** Hue (0–1, circular), saturation and value (0–1) of one RGB pixel. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = r > g ? (r > b ? r : b) : g > b ? g : b;
  const min = r < g ? (r < b ? r : b) : g < b ? g : b;
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = (g - b) / d + (g < b ? 6 : 0);
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
  }
  return [h / 6, max > 0 ? d / max : 0, max / 255];
}

/** Chroma (max − min) / 255: saturation scaled by value, the HSV cone's radius. */
export function chromaOf(r: number, g: number, b: number): number {
  const max = r > g ? (r > b ? r : b) : g > b ? g : b;
  const min = r < g ? (r < b ? r : b) : g < b ? g : b;
  return (max - min) / 255;
}

/**
 * The normalized (sum 1) 72-bin HSV histogram of packed RGB24; all zeros for an empty picture.
 * Soft binning: each pixel is shared between the two nearest bin centres on each axis (linear
 * weights; hue wraps around, the outer halves of the end bins of saturation and value are clamped),
 * so a slow fade or colour drift moves the histogram smoothly instead of in jumps when many
 * pixels cross a bin edge at once. Saturation is measured as chroma (see the module comment); the
 * weight that falls in the lowest saturation bin goes to hue bin 0 whatever the pixel's hue.
 */
export function hsvHistogram(rgb: Uint8Array, out?: Float32Array): Float32Array {
  const hist = out ?? new Float32Array(HSV_BINS);
  hist.fill(0);
  const n = Math.floor(rgb.length / 3);
  if (n === 0) return hist;
  const H = HSV_HUE_BINS, S = HSV_SAT_BINS, V = HSV_VAL_BINS;
  for (let p = 0; p < n * 3; p += 3) {
    const [h, , v] = rgbToHsv(rgb[p], rgb[p + 1], rgb[p + 2]);
    const s = chromaOf(rgb[p], rgb[p + 1], rgb[p + 2]);
    // Positions in bin units, bin centres at integers.
    const hp = h * H - 0.5;
    let h0 = Math.floor(hp);
    const hf = hp - h0;
    h0 = (h0 + H) % H;
    const h1 = (h0 + 1) % H;
    const sp = Math.min(S - 1, Math.max(0, s * S - 0.5));
    const s0 = Math.floor(sp);
    const sf = sp - s0;
    const s1 = Math.min(S - 1, s0 + 1);
    const vp = Math.min(V - 1, Math.max(0, v * V - 0.5));
    const v0 = Math.floor(vp);
    const vf = vp - v0;
    const v1 = Math.min(V - 1, v0 + 1);
    for (let si = 0; si < 2; si++) {
      const sb = si === 0 ? s0 : s1;
      const sw = si === 0 ? 1 - sf : sf;
      if (sw === 0) continue;
      for (let hi = 0; hi < 2; hi++) {
        const hb = sb === 0 ? 0 : hi === 0 ? h0 : h1;
        const hw = sb === 0 ? (hi === 0 ? 1 : 0) : hi === 0 ? 1 - hf : hf;
        if (hw === 0) continue;
        const base = (hb * S + sb) * V;
        hist[base + v0] += sw * hw * (1 - vf);
        hist[base + v1] += sw * hw * vf;
      }
    }
  }
  for (let i = 0; i < hist.length; i++) hist[i] /= n;
  return hist;
}

/** Half the L1 distance of two normalized histograms: 0 (same) to 1 (disjoint). */
export function histogramDistance(a: Float32Array | readonly number[], b: Float32Array | readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(a[i] - b[i]);
  return sum / 2;
}

/** Area (box) resampling of a single-channel plane to `outW`×`outH`. */
export function resampleArea(src: Float32Array, width: number, height: number, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH);
  const sx = width / outW;
  const sy = height / outH;
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(y0); y < Math.min(height, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        if (wy <= 0) continue;
        for (let x = Math.floor(x0); x < Math.min(width, Math.ceil(x1)); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          if (wx <= 0) continue;
          sum += src[y * width + x] * wx * wy;
          area += wx * wy;
        }
      }
      out[oy * outW + ox] = area > 0 ? sum / area : 0;
    }
  }
  return out;
}

const PHASH_SIZE = 32;
const PHASH_LOW = 8;
/** cos((2x + 1) u π / 64) for u < 8, x < 32. */
const DCT_COS: Float64Array = (() => {
  const t = new Float64Array(PHASH_LOW * PHASH_SIZE);
  for (let u = 0; u < PHASH_LOW; u++) {
    for (let x = 0; x < PHASH_SIZE; x++) t[u * PHASH_SIZE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * PHASH_SIZE));
  }
  return t;
})();

/** The 8×8 lowest-frequency 2-D DCT-II coefficients (unnormalized) of a 32×32 plane, row-major (u = vertical frequency). */
export function lowDct8(plane32: Float32Array): Float64Array {
  const n = PHASH_SIZE;
  const rows = new Float64Array(n * PHASH_LOW); // rows[y][v] = Σx cos_v(x) p[y][x]
  for (let y = 0; y < n; y++) {
    for (let v = 0; v < PHASH_LOW; v++) {
      let s = 0;
      for (let x = 0; x < n; x++) s += DCT_COS[v * n + x] * plane32[y * n + x];
      rows[y * PHASH_LOW + v] = s;
    }
  }
  const out = new Float64Array(PHASH_LOW * PHASH_LOW);
  for (let u = 0; u < PHASH_LOW; u++) {
    for (let v = 0; v < PHASH_LOW; v++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += DCT_COS[u * n + y] * rows[y * PHASH_LOW + v];
      out[u * PHASH_LOW + v] = s;
    }
  }
  return out;
}

/** The 64-bit DCT perceptual hash of a luma plane, as 16 lowercase hex digits. */
export function perceptualHash(luma: Float32Array, width: number, height: number): string {
  const plane = resampleArea(luma, width, height, PHASH_SIZE, PHASH_SIZE);
  const coef = lowDct8(plane);
  // Rounding noise (a flat picture's AC terms are ~1e-12, not 0) must not flip bits: snap it to 0.
  const eps = 1e-9 * (1 + Math.abs(coef[0]));
  for (let i = 0; i < coef.length; i++) if (Math.abs(coef[i]) < eps) coef[i] = 0;
  const sorted = Array.from(coef).sort((a, b) => a - b);
  const median = (sorted[31] + sorted[32]) / 2;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 64; i++) {
    const bit = coef[i] > median ? 1 : 0;
    if (i < 32) hi = (hi * 2 + bit) >>> 0;
    else lo = (lo * 2 + bit) >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** Bits that differ between two 16-hex-digit hashes (0–64). */
export function hammingDistance(a: string, b: string): number {
  if (!/^[0-9a-f]{16}$/i.test(a) || !/^[0-9a-f]{16}$/i.test(b)) throw new RangeError('hashes must be 16 hex digits');
  let d = 0;
  for (let i = 0; i < 16; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}
