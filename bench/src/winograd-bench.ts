// Winograd against the stock (XNNPACK direct) WASM convolution on InceptionV3's stride-1 3x3 and 5x5 convolutions at 224 px,
// forward and input gradient (the gradient runs as a forward convolution on dy with the flipped filter): fastest ms per
// call (fastest of --reps, and the mean process CPU time over all threads) and the max error against a float64 direct convolution, relative to the largest output.
//
//   npx tsx --tsconfig tsconfig.json bench/src/winograd-bench.ts [--reps 20] [--threads 2] [--no-error]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@cnnviz/node';
import type { PadSpec } from '../../packages/core/src/kernels/conv-cases.test-data.js';
import { directConv2dF64 } from '../../packages/core/src/kernels/direct-conv.test-data.js';
import { stockKernel } from '../../packages/core/src/kernels/registry.js';
import { tryWinograd } from '../../packages/core/src/kernels/wasm-winograd-conv2d.js';
import type { WinogradKind } from '../../packages/core/src/kernels/wasm-simd-winograd.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '20' },
    threads: { type: 'string' },
    'no-error': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const reps = Number(values.reps);
const backend = await initBackend({
  backend: 'wasm',
  ...(values.threads ? { threads: Number(values.threads) } : {}),
});
type Pad = PadSpec;
const full: Pad = [
  [0, 0],
  [2, 2],
  [2, 2],
  [0, 0],
];
// [name, H=W, C, K, pad]: forward, then the input gradients (dy's size, K -> C, "full" pads for valid convs).
// [name, H=W, C, K, pad, filter size (default 3)]
const SHAPES: Array<[string, number, number, number, Pad, number?]> = [
  ['stem 32->32 valid 111', 111, 32, 32, 'valid'],
  ['stem 32->64 same 109', 109, 32, 64, 'same'],
  ['stem 80->192 valid 54', 54, 80, 192, 'valid'],
  ['mixed 64->96 same 25', 25, 64, 96, 'same'],
  ['mixed 96->96 same 25', 25, 96, 96, 'same'],
  ['grad stem 32->32 (full 109)', 109, 32, 32, full],
  ['grad stem 64->32 same 109', 109, 64, 32, 'same'],
  ['grad stem 192->80 (full 52)', 52, 192, 80, full],
  ['grad mixed 96->64 same 25', 25, 96, 64, 'same'],
  ['grad mixed 96->96 same 25', 25, 96, 96, 'same'],
  // Small ones, for the threshold (VGG16's late layers, InceptionV3 at smaller sizes).
  ['small 96->96 same 12', 12, 96, 96, 'same'],
  ['small 32->32 same 16', 16, 32, 32, 'same'],
  ['small 256->256 same 14', 14, 256, 256, 'same'],
  ['small 512->512 same 7', 7, 512, 512, 'same'],
  ['small 16->16 same 24', 24, 16, 16, 'same'],
  // InceptionV3's 5x5 convolutions (mixed0-2) and their input gradients.
  ['5x5 mixed 48->64 same 25', 25, 48, 64, 'same', 5],
  ['5x5 grad mixed 64->48 same 25', 25, 64, 48, 'same', 5],
];

const wasm = tf.backend();
const conv = stockKernel(tf.Conv2D, 'wasm');
if (conv === undefined) throw new Error('no wasm Conv2D');
console.log(
  `wasm, ${backend.threads ?? '?'} threads, ${reps} reps; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log('shape | ms: stock, then each Winograd | CPU ms, same order | error, same order');
for (const [name, h, c, k, pad, fs = 3] of SHAPES.filter(([n]) => n.includes(values.only ?? ''))) {
  const xv = Float32Array.from({ length: h * h * c }, () => Math.random() * 2 - 1);
  const fv = Float32Array.from(
    { length: fs * fs * c * k },
    () => (Math.random() * 2 - 1) / Math.sqrt(fs * fs * c),
  );
  const x = tf.tensor4d(xv, [1, h, h, c]);
  const f = tf.tensor4d(fv, [fs, fs, c, k]);
  const kinds: WinogradKind[] = fs === 3 ? ['2x3', '4x3'] : ['2x5'];
  const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] } as unknown as tf.Conv2DAttrs;
  const runs: Array<[string, () => tf.TensorInfo]> = [
    [
      'stock',
      () =>
        conv.kernelFunc({
          inputs: { x, filter: f },
          backend: wasm,
          attrs: attrs as unknown as tf.NamedAttrMap,
        }) as tf.TensorInfo,
    ],
    ...kinds.map(
      (kind) =>
        [`F(${kind})`, () => tryWinograd(wasm, { x, filter: f, attrs }, kind) as tf.TensorInfo] as [
          string,
          () => tf.TensorInfo,
        ],
    ),
  ];
  const times: number[] = [];
  const cpus: number[] = [];
  const outs: Float32Array[] = [];
  for (const [, fn] of runs) {
    const ts: number[] = [];
    let cpu0 = process.cpuUsage();
    for (let i = 0; i < reps + 3; i++) {
      if (i === 3) cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const y = fn();
      const dt = performance.now() - t0;
      if (i >= 3) ts.push(dt);
      if (i === 0) outs.push(Float32Array.from(wasm.readSync(y.dataId) as Float32Array));
      wasm.disposeData(y.dataId, true);
    }
    times.push(Math.min(...ts));
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1000 / reps);
  }
  let errs = runs.map(() => '');
  if (!values['no-error']) {
    const want = directConv2dF64(xv, [1, h, h, c], fv, k, pad, undefined, 'linear', fs).values;
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    errs = outs.map((o) => {
      let e = 0;
      for (let i = 0; i < o.length; i++) e = Math.max(e, Math.abs(o[i] - want[i]));
      return (e / scale).toExponential(1);
    });
  }
  tf.dispose([x, f]);
  const ms = (xs: number[]) => xs.map((t) => t.toFixed(2)).join(' | ');
  console.log(`${name} (${kinds.join(', ')}) | ${ms(times)} | ${ms(cpus)} | ${errs.join(' | ')}`);
}
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
