import { buildModule, Fn, op, T, type Code, type FuncDef } from '../wasm-asm.js';

/**
 * MaxPoolGrad of one NHWC image in WebAssembly SIMD on tfjs-backend-wasm's heap (byte offsets; C a multiple of 4, no
 * dilation). Per output pixel and group of four channels it keeps the running maximum and the byte offset of its
 * cell — strictly greater replaces, so ties keep the first cell in row-major order, the cpu rule — then adds dy to
 * dx at the four winning cells. dx must be zero on entry. Four channels per instruction: the JS loop took 10 ns per
 * window cell and channel (InceptionV3's first pool gradient, 109x109x64, 18 ms single-threaded).
 */
function maxPoolGradFunction(): FuncDef {
  const f = new Fn('maxPoolGrad', [
    ['x', T.i32],
    ['dy', T.i32],
    ['dx', T.i32],
    ['H', T.i32],
    ['W', T.i32],
    ['C4', T.i32],
    ['OH', T.i32],
    ['OW', T.i32],
    ['sH', T.i32],
    ['sW', T.i32],
    ['fH', T.i32],
    ['fW', T.i32],
    ['top', T.i32],
    ['left', T.i32],
  ]);
  for (const n of ['oy', 'ox', 'g', 'wr', 'wc', 'r0', 'c0', 'xr', 'xc', 'cell', 'o', 'p']) f.local(n, T.i32);
  f.local('best', T.v128);
  f.local('pos', T.v128);
  f.local('v', T.v128);
  f.local('m', T.v128);
  const g = (n: string) => f.get(n);
  const inc = (n: string, by: Code) => [...g(n), ...by, ...op.i32Add, ...f.set(n)];
  // loop header: block; loop; (i >= end) br_if 1
  const open = (i: string, end: Code) => [
    ...op.block,
    ...op.loop,
    ...g(i),
    ...end,
    ...op.i32GeS,
    ...op.brIf(1),
  ];
  const close = (i: string, by: Code) => [...inc(i, by), ...op.br(0), ...op.end, ...op.end];

  f.emit(op.i32(0), f.set('oy'));
  f.emit(open('oy', g('OH')));
  f.emit(g('oy'), g('sH'), op.i32Mul, g('top'), op.i32Sub, f.set('r0'));
  f.emit(op.i32(0), f.set('ox'));
  f.emit(open('ox', g('OW')));
  f.emit(g('ox'), g('sW'), op.i32Mul, g('left'), op.i32Sub, f.set('c0'));
  f.emit(g('oy'), g('OW'), op.i32Mul, g('ox'), op.i32Add, g('C4'), op.i32Mul, f.set('o'));
  f.emit(op.i32(0), f.set('g'));
  f.emit(open('g', g('C4')));
  f.emit(op.f32(-Infinity), op.f32x4Splat, f.set('best'), op.i32(-1), op.i32x4Splat, f.set('pos'));
  f.emit(op.i32(0), f.set('wr'));
  f.emit(open('wr', g('fH')));
  f.emit(g('r0'), g('wr'), op.i32Add, f.set('xr'));
  // Rows outside the image: skip.
  f.emit(op.block, g('xr'), op.i32(0), op.i32LtS, g('xr'), g('H'), op.i32GeS, op.i32Or, op.brIf(0));
  f.emit(op.i32(0), f.set('wc'));
  f.emit(open('wc', g('fW')));
  f.emit(g('c0'), g('wc'), op.i32Add, f.set('xc'));
  f.emit(op.block, g('xc'), op.i32(0), op.i32LtS, g('xc'), g('W'), op.i32GeS, op.i32Or, op.brIf(0));
  f.emit(
    g('xr'),
    g('W'),
    op.i32Mul,
    g('xc'),
    op.i32Add,
    g('C4'),
    op.i32Mul,
    g('g'),
    op.i32Add,
    f.set('cell'),
  );
  f.emit(g('x'), g('cell'), op.i32Add, op.v128Load(), f.tee('v'), g('best'), op.f32x4Gt, f.set('m'));
  f.emit(g('v'), g('best'), g('m'), op.v128Bitselect, f.set('best'));
  f.emit(g('cell'), op.i32x4Splat, g('pos'), g('m'), op.v128Bitselect, f.set('pos'));
  f.emit(op.end); // cell block
  f.emit(close('wc', op.i32(1)));
  f.emit(op.end); // row block
  f.emit(close('wr', op.i32(1)));
  for (let lane = 0; lane < 4; lane++) {
    // p = pos[lane]; if p >= 0: dx[p + 4 lane] += dy[o + g + 4 lane]
    f.emit(op.block, g('pos'), op.i32x4Extract(lane), f.tee('p'), op.i32(0), op.i32LtS, op.brIf(0));
    f.emit(g('dx'), g('p'), op.i32Add, g('dx'), g('p'), op.i32Add, op.f32Load(4 * lane));
    f.emit(g('dy'), g('o'), op.i32Add, g('g'), op.i32Add, op.f32Load(4 * lane), op.f32Add);
    f.emit(op.f32Store(4 * lane), op.end);
  }
  f.emit(close('g', op.i32(16)));
  f.emit(close('ox', op.i32(1)));
  f.emit(close('oy', op.i32(1)));
  return f.def();
}

export type SimdMaxPoolGrad = (
  x: number,
  dy: number,
  dx: number,
  H: number,
  W: number,
  C4: number,
  OH: number,
  OW: number,
  sH: number,
  sW: number,
  fH: number,
  fW: number,
  top: number,
  left: number,
) => void;

const compiled = new Map<boolean, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, SimdMaxPoolGrad>();

/** The function bound to `memory`; undefined where WebAssembly SIMD is unavailable. */
export function simdMaxPoolGrad(memory: WebAssembly.Memory): SimdMaxPoolGrad | undefined {
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  let module = compiled.get(shared);
  if (module === undefined) {
    const bytes = buildModule([maxPoolGradFunction()], shared ? { shared, maxPages: 65536 } : { shared });
    module =
      typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    compiled.set(shared, module);
  }
  if (module === null) return undefined;
  let fn = instances.get(memory);
  if (fn === undefined) {
    const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
    fn = (instance.exports as unknown as { maxPoolGrad: SimdMaxPoolGrad }).maxPoolGrad;
    instances.set(memory, fn);
  }
  return fn;
}
