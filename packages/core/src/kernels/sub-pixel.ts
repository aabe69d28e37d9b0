/**
 * Sub-pixel ("phase") decomposition of a strided convolution's input gradient.
 *
 * For stride s, input row i = s·a + p (phase p) receives dy[o]·w[k] exactly when k ≡ (p + padTop) mod s, so each phase
 * is a stride-1 correlation of dy with a sub-filter of ⌈f/s⌉ taps. Stacking the s² phase filters along the output
 * channels gives ONE stride-1 convolution of dy (K×K taps, s²·inC outputs) followed by depthToSpace(s): s² less work
 * than convolving the zero-dilated dy (mostly multiplications by zero), and more output channels for XNNPACK.
 */
export interface PhaseAxis {
  /** Taps of the combined filter along this axis. */
  k: number;
  /** Offset of dy row 0 in the padded input: padded[u] = dy[u + jmin]. */
  jmin: number;
  /** Phase-output rows: ⌈in / s⌉. */
  a: number;
  /** For phase p and combined tap t, the source filter tap, or -1 for none. */
  tap: (p: number, t: number) => number;
}

export function phaseAxis(f: number, s: number, pad: number, inSize: number): PhaseAxis {
  const r: number[] = [];
  const q: number[] = [];
  const m: number[] = [];
  let jmin = Infinity;
  let jmax = -Infinity;
  for (let p = 0; p < s; p++) {
    r.push((p + pad) % s);
    q.push(Math.floor((p + pad) / s));
    m.push(r[p] >= f ? 0 : Math.ceil((f - r[p]) / s));
    if (m[p] > 0) {
      jmin = Math.min(jmin, q[p] - m[p] + 1);
      jmax = Math.max(jmax, q[p]);
    }
  }
  const k = jmax - jmin + 1;
  return {
    k,
    jmin,
    a: Math.ceil(inSize / s),
    tap: (p, t) => {
      const mm = q[p] - (t + jmin);
      return mm >= 0 && mm < m[p] ? s * mm + r[p] : -1;
    },
  };
}

/**
 * The combined filter [kH, kW, outC, s²·inC] of a conv2d filter [fH, fW, inC, outC]; output channel (pH·s + pW)·inC + c
 * is phase (pH, pW) of input channel c — the channel order depthToSpace(s) expects.
 */
export function phaseFilterValues(
  w: ArrayLike<number>,
  shape: number[],
  s: number,
  h: PhaseAxis,
  v: PhaseAxis,
): Float32Array {
  const [, fW, inC, outC] = shape;
  const cOut = s * s * inC;
  const out = new Float32Array(h.k * v.k * outC * cOut);
  for (let th = 0; th < h.k; th++) {
    for (let tw = 0; tw < v.k; tw++) {
      for (let ph = 0; ph < s; ph++) {
        const kh = h.tap(ph, th);
        if (kh < 0) continue;
        for (let pw = 0; pw < s; pw++) {
          const kw = v.tap(pw, tw);
          if (kw < 0) continue;
          const src = (kh * fW + kw) * inC * outC;
          const base = (th * v.k + tw) * outC * cOut + (ph * s + pw) * inC;
          for (let ci = 0; ci < inC; ci++) {
            for (let co = 0; co < outC; co++) out[base + co * cOut + ci] = w[src + ci * outC + co];
          }
        }
      }
    }
  }
  return out;
}

/** The combined taps phase p actually uses: t in [lo, lo + n) (n = 0 for a phase no filter tap reaches). */
export function phaseTapRange(axis: PhaseAxis, p: number): { lo: number; n: number } {
  let lo = -1;
  let n = 0;
  for (let t = 0; t < axis.k; t++) {
    if (axis.tap(p, t) < 0) continue;
    if (lo < 0) lo = t;
    n = t - lo + 1;
  }
  return { lo: Math.max(lo, 0), n };
}

/**
 * Phase (pH, pW)'s own filter [nH, nW, outC, inC] of a conv2d filter [fH, fW, inC, outC]: the taps of the combined
 * filter that are not zero for this phase, so each phase convolves with exactly its ⌈f/s⌉-ish taps.
 */
export function singlePhaseFilterValues(
  w: ArrayLike<number>,
  shape: number[],
  h: PhaseAxis,
  v: PhaseAxis,
  ph: number,
  pw: number,
): { values: Float32Array; shape: number[] } {
  const [, fW, inC, outC] = shape;
  const rh = phaseTapRange(h, ph);
  const rw = phaseTapRange(v, pw);
  const out = new Float32Array(rh.n * rw.n * outC * inC);
  for (let th = 0; th < rh.n; th++) {
    const kh = h.tap(ph, rh.lo + th);
    for (let tw = 0; tw < rw.n; tw++) {
      const kw = v.tap(pw, rw.lo + tw);
      if (kh < 0 || kw < 0) continue;
      const src = (kh * fW + kw) * inC * outC;
      const base = (th * rw.n + tw) * outC * inC;
      for (let ci = 0; ci < inC; ci++) {
        for (let co = 0; co < outC; co++) out[base + co * inC + ci] = w[src + ci * outC + co];
      }
    }
  }
  return { values: out, shape: [rh.n, rw.n, outC, inC] };
}
