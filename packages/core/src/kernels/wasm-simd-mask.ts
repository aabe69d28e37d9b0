import { buildModule, Fn, op, T, type FuncDef } from '../wasm-asm.js';

/**
 * A small WebAssembly SIMD module that masks a gradient by a ReLU/ReLU6 output on tfjs-backend-wasm's own heap: it
 * imports the backend's exported memory, so tensors are addressed by their heap offsets and nothing is copied. Four
 * floats per instruction: ~2 ms for 4 M floats, against ~60 ms for the same loop in JS (V8 does not vectorise it),
 * which made the mask the largest kernel of a MobileNetV2 input gradient.
 *
 *   relu6(dy, y, out, n)  (byte offsets, n floats): for i in 0 .. n & ~3 step 4:
 *     out[i..i+3] = dy[i..i+3] & (y[i..i+3] > 0) & (y[i..i+3] < 6)        (relu: without the < 6)
 * The last n mod 4 floats are left to the caller.
 */
function maskFunction(name: string, upper: number | undefined): FuncDef {
  const f = new Fn(name, [
    ['dy', T.i32],
    ['y', T.i32],
    ['out', T.i32],
    ['n', T.i32],
  ]);
  f.local('i', T.i32);
  f.local('end', T.i32);
  f.local('y4', T.v128);
  const at = (p: string) => [...f.get(p), ...f.get('i'), ...op.i32(2), ...op.i32Shl, ...op.i32Add];
  const belowUpper =
    upper === undefined ? [] : [f.get('y4'), op.f32(upper), op.f32x4Splat, op.f32x4Lt, op.v128And];
  f.emit(f.get('n'), op.i32(-4), op.i32And, f.set('end'));
  f.emit(op.block, op.loop, f.get('i'), f.get('end'), op.i32GeS, op.brIf(1));
  f.emit(at('out'), at('dy'), op.v128Load(), at('y'), op.v128Load(), f.tee('y4'), op.v128Zero, op.f32x4Gt);
  f.emit(...belowUpper, op.v128And, op.v128Store());
  f.emit(f.get('i'), op.i32(4), op.i32Add, f.set('i'), op.br(0), op.end, op.end);
  return f.def();
}

type MaskFn = (dy: number, y: number, out: number, n: number) => void;
export interface SimdMask {
  relu6: MaskFn;
  relu: MaskFn;
}

/** Per memory kind: tfjs-wasm's threaded build has a shared memory of at most 4 GiB, the other a plain one. */
const compiled = new Map<boolean, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, SimdMask>();

/** The mask functions bound to `memory`; undefined where WebAssembly SIMD is unavailable. */
export function simdMask(memory: WebAssembly.Memory): SimdMask | undefined {
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  let module = compiled.get(shared);
  if (module === undefined) {
    const fns = [maskFunction('relu6', 6), maskFunction('relu', undefined)];
    const bytes = buildModule(fns, shared ? { shared, maxPages: 65536 } : { shared });
    module =
      typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    compiled.set(shared, module);
  }
  if (module === null) return undefined;
  let fns = instances.get(memory);
  if (fns === undefined) {
    const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
    fns = instance.exports as unknown as SimdMask;
    instances.set(memory, fns);
  }
  return fns;
}
