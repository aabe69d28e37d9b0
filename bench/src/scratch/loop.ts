const N = 64 * 28 * 28, inC = 16, outC = 32, taps = 9;
const x = new Float32Array(N * inC).map(() => Math.max(0, Math.random() - 0.5));
const dy = new Float32Array(N * outC).map(() => Math.random());
function v1(acc: Float64Array | Float32Array) {
  for (let p = 0; p < N; p++) {
    const dyOff = p * outC;
    for (let t = 0; t < taps; t++) {
      let o = t * inC * outC;
      const xOff = p * inC;
      for (let d1 = 0; d1 < inC; d1++, o += outC) {
        const xv = x[xOff + d1];
        if (xv === 0) continue;
        for (let d2 = 0; d2 < outC; d2++) acc[o + d2] += xv * dy[dyOff + d2];
      }
    }
  }
}
for (const [name, mk] of [['f64', () => new Float64Array(taps * inC * outC)], ['f32', () => new Float32Array(taps * inC * outC)]] as const) {
  const t0 = performance.now(); v1(mk()); console.log(name, (performance.now() - t0).toFixed(0));
}
