import * as tf from '@tensorflow/tfjs-core';
import { buildModule, Fn, op, T, type FuncDef } from '../wasm-asm.js';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { isWasmBackend, wasmMemoryOf, type WasmBackendLike } from './wasm-heap.js';

/**
 * A cnnviz kernel: one Adam step over a variable, inputs `{ p, g, m, v }` (float32, one size), attrs `AdamAttrs`,
 * outputs `[p', m', v']`, with tf.train.adam's float32 operations in its order:
 *   m' = m b1 + g (1 - b1),  v' = v b2 + g² (1 - b2),
 *   p' = (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps) (-lr) + p.
 */
export const ADAM_KERNEL = 'CnnvizAdam';

export interface AdamAttrs {
  beta1: number;
  beta2: number;
  /** 1 - beta1^t and 1 - beta2^t for this step t (float32, as tf.train.adam's accumulators give them). */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  learningRate: number;
}

/** The scalars of a step as float32, in the order the SIMD function takes them. */
function scalars(a: AdamAttrs): number[] {
  const f = Math.fround;
  return [
    a.beta1,
    1 - a.beta1,
    a.beta2,
    1 - a.beta2,
    a.oneMinusAccBeta1,
    a.oneMinusAccBeta2,
    a.epsilon,
    -a.learningRate,
  ].map(f);
}

/** The step on plain arrays, each operation rounded to float32 (the SIMD loop's tail, or all of it without SIMD). */
export function adamValues(
  p: ArrayLike<number>,
  g: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  attrs: AdamAttrs,
  outP: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  from = 0,
): void {
  const f = Math.fround;
  const [b1, c1, b2, c2, acc1, acc2, eps, step] = scalars(attrs);
  for (let i = from; i < outP.length; i++) {
    const gi = g[i];
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    outM[i] = mi;
    outV[i] = vi;
    outP[i] = f(f(f(f(mi / acc1) / f(f(Math.sqrt(f(vi / acc2))) + eps)) * step) + p[i]);
  }
}

/**
 * adam(p, g, m, v, outP, outM, outV, n, b1, c1, b2, c2, acc1, acc2, eps, step) on byte offsets of the backend's heap,
 * four floats per instruction over n & ~3 values; the caller does the rest.
 */
function adamFunction(): FuncDef {
  const names = ['p', 'g', 'm', 'v', 'outP', 'outM', 'outV', 'n'];
  const consts = ['b1', 'c1', 'b2', 'c2', 'acc1', 'acc2', 'eps', 'step'];
  const f = new Fn('adam', [
    ...names.map((n): [string, number] => [n, T.i32]),
    ...consts.map((n): [string, number] => [n, T.f32]),
  ]);
  f.local('i', T.i32);
  f.local('end', T.i32);
  f.local('g4', T.v128);
  f.local('m4', T.v128);
  f.local('v4', T.v128);
  for (const c of consts) f.local(`${c}4`, T.v128);
  const at = (p: string) => [...f.get(p), ...f.get('i'), ...op.i32(2), ...op.i32Shl, ...op.i32Add];
  for (const c of consts) f.emit(f.get(c), op.f32x4Splat, f.set(`${c}4`));
  f.emit(f.get('n'), op.i32(-4), op.i32And, f.set('end'));
  f.emit(op.block, op.loop, f.get('i'), f.get('end'), op.i32GeS, op.brIf(1));
  f.emit(at('g'), op.v128Load(), f.set('g4'));
  // m' = m b1 + g c1
  f.emit(
    at('m'),
    op.v128Load(),
    f.get('b14'),
    op.f32x4Mul,
    f.get('g4'),
    f.get('c14'),
    op.f32x4Mul,
    op.f32x4Add,
  );
  f.emit(f.set('m4'), at('outM'), f.get('m4'), op.v128Store());
  // v' = v b2 + (g g) c2
  f.emit(at('v'), op.v128Load(), f.get('b24'), op.f32x4Mul);
  f.emit(f.get('g4'), f.get('g4'), op.f32x4Mul, f.get('c24'), op.f32x4Mul, op.f32x4Add);
  f.emit(f.set('v4'), at('outV'), f.get('v4'), op.v128Store());
  // p' = ((m' / acc1) / (sqrt(v' / acc2) + eps)) step + p
  f.emit(at('outP'), f.get('m4'), f.get('acc14'), op.f32x4Div);
  f.emit(f.get('v4'), f.get('acc24'), op.f32x4Div, op.f32x4Sqrt, f.get('eps4'), op.f32x4Add, op.f32x4Div);
  f.emit(f.get('step4'), op.f32x4Mul, at('p'), op.v128Load(), op.f32x4Add, op.v128Store());
  f.emit(f.get('i'), op.i32(4), op.i32Add, f.set('i'), op.br(0), op.end, op.end);
  return f.def();
}

type AdamFn = (...args: number[]) => void;

/** Per memory kind (shared for the threaded build): the compiled module, null without WebAssembly SIMD. */
const compiled = new Map<boolean, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, AdamFn>();

function simdAdam(memory: WebAssembly.Memory): AdamFn | undefined {
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  let module = compiled.get(shared);
  if (module === undefined) {
    const bytes = buildModule([adamFunction()], shared ? { shared, maxPages: 65536 } : { shared });
    module = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    compiled.set(shared, module);
  }
  if (module === null) return undefined;
  let fn = instances.get(memory);
  if (fn === undefined) {
    fn = (new WebAssembly.Instance(module, { env: { mem: memory } }).exports as { adam: AdamFn }).adam;
    instances.set(memory, fn);
  }
  return fn;
}

/**
 * `CnnvizAdam` on the wasm heap: tf.train.adam's fourteen elementwise kernels over a 150 k-value Fourier spectrum
 * took ~2.5 ms of each feature-visualisation step; this is one pass, four floats per instruction.
 */
export const wasmAdamFix: KernelFix = {
  name: `wasm:${ADAM_KERNEL}`,
  kernelName: ADAM_KERNEL,
  backendName: 'wasm',
  make: () => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const ins = ['p', 'g', 'm', 'v'].map((k) => inputs[k] as tf.TensorInfo);
    const size = tf.util.sizeFromShape(ins[0].shape);
    if (
      !isWasmBackend(backend) ||
      ins.some((t) => t.dtype !== 'float32' || tf.util.sizeFromShape(t.shape) !== size)
    )
      throw new Error(`cnnviz: ${ADAM_KERNEL} needs four float32 tensors of one size on wasm`);
    const a = attrs as unknown as AdamAttrs;
    const wasm = backend as WasmBackendLike;
    // Outputs first: an allocation can grow (and detach) the heap, so views come after.
    const outs = [0, 1, 2].map(() => wasm.makeOutput(ins[0].shape, 'float32'));
    const [p, g, m, v, outP, outM, outV] = [...ins, ...outs].map(
      (t) => wasm.typedArrayFromHeap(t) as Float32Array,
    );
    const memory = wasmMemoryOf(backend);
    const simd = memory ? simdAdam(memory) : undefined;
    const head = simd ? size & ~3 : 0;
    if (simd) simd(...[p, g, m, v, outP, outM, outV].map((t) => t.byteOffset), size, ...scalars(a));
    adamValues(p, g, m, v, a, outP, outM, outV, head);
    return outs;
  },
};
