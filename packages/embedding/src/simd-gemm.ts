import { claimChunk, CHUNK_BITS, roundTag, workersReady } from './chunks.js';
import {
  buildWasmModule as buildModule,
  hasRelaxedSimd,
  hasWasmSimd,
  type WasmCode as Code,
  WasmFunction as Fn,
  type WasmFuncDef as FuncDef,
  wasmOp as op,
  wasmTypes as T,
} from '@cnnviz/core';

/**
 * Float32 matrix products in WebAssembly SIMD, for the CPU-bound products of kNN and PCA.
 *
 * Operands are packed first (as BLAS libraries do): A in micro-panels of 4 rows, k-major
 * (`A[(ib * K + k) * 4 + r]`), B in panels of 8 columns (`B[(p * K + k) * 8 + c]`). The 4x8 micro-kernel keeps 8 accumulators in registers and
 * reads one splatted A value and two B vectors per step; on one core of the 2-core test
 * machine it runs ~2x faster than TF.js WASM's (XNNPACK) matMul, and, unlike the backend, can
 * run on several worker threads at once.
 */

export const MR = 4;

/** acc + a·b on v128 values: one fused multiply-add where the engine has relaxed SIMD (~1.25x the product rate). */
function multiplyAdd(acc: Code, a: Code, b: Code): Code {
  return hasRelaxedSimd()
    ? [...a, ...b, ...acc, ...op.f32x4RelaxedMadd]
    : [...acc, ...a, ...b, ...op.f32x4Mul, ...op.f32x4Add];
}
export const NR = 8;

/**
 * Loop nest of `gemm(ap, bp, cp, ldcBytes, mBlocks, nPanels, ks, aStride, bStride, accumulate)`:
 * C (+)= A B over `ks` inner steps; strides in bytes between A micro-panels and B panels.
 */
function gemmKernel(): FuncDef {
  const [ap, bp, cp, ldc, mBlocks, nPanels, ks, aStride, bStride, accumulate] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ];
  const [ib, p, a, b, k, c] = [10, 11, 12, 13, 14, 15];
  const acc = [16, 17, 18, 19, 20, 21, 22, 23];
  const [b0, b1, av] = [24, 25, 26];
  const body: Code = [];
  const emit = (...codes: Code[]) => {
    for (const x of codes) for (const y of x) body.push(y);
  };
  emit(op.i32(0), op.set(ib));
  emit(op.block, op.loop);
  emit(op.get(ib), op.get(mBlocks), op.i32GeS, op.brIf(1));
  emit(op.i32(0), op.set(p));
  emit(op.block, op.loop);
  emit(op.get(p), op.get(nPanels), op.i32GeS, op.brIf(1));
  emit(op.get(cp), op.get(ib), op.i32(2), op.i32Shl, op.get(ldc), op.i32Mul, op.i32Add);
  emit(op.get(p), op.i32(5), op.i32Shl, op.i32Add, op.set(c));
  emit(op.get(accumulate), op.if_);
  for (let r = 0; r < 4; r++) {
    emit(op.get(c), op.get(ldc), op.i32(r), op.i32Mul, op.i32Add, op.tee(b));
    emit(op.v128Load(0), op.set(acc[2 * r]), op.get(b), op.v128Load(16), op.set(acc[2 * r + 1]));
  }
  emit(op.else_);
  for (const r of acc) emit(op.v128Zero, op.set(r));
  emit(op.end);
  emit(op.get(ap), op.get(ib), op.get(aStride), op.i32Mul, op.i32Add, op.set(a));
  emit(op.get(bp), op.get(p), op.get(bStride), op.i32Mul, op.i32Add, op.set(b));
  emit(op.get(ks), op.set(k));
  // One k step per iteration: unrolled bodies make V8 hoist every load address into a register
  // and spill accumulators (measured 3x slower); this one allocates all 16 xmm registers cleanly.
  emit(op.loop);
  emit(op.get(b), op.v128Load(0), op.set(b0));
  emit(op.get(b), op.v128Load(16), op.set(b1));
  for (let r = 0; r < 4; r++) {
    emit(op.get(a), op.v128Load32Splat(r * 4), op.set(av));
    emit(multiplyAdd(op.get(acc[2 * r]), op.get(av), op.get(b0)), op.set(acc[2 * r]));
    emit(multiplyAdd(op.get(acc[2 * r + 1]), op.get(av), op.get(b1)), op.set(acc[2 * r + 1]));
  }
  emit(op.get(a), op.i32(16), op.i32Add, op.set(a));
  emit(op.get(b), op.i32(32), op.i32Add, op.set(b));
  emit(op.get(k), op.i32(1), op.i32Sub, op.tee(k), op.brIf(0));
  emit(op.end);
  // C rows ib*4 .. ib*4+3, columns p*8 .. p*8+7.
  for (let r = 0; r < 4; r++) {
    emit(op.get(c), op.get(acc[2 * r]), op.v128Store(0));
    emit(op.get(c), op.get(acc[2 * r + 1]), op.v128Store(16));
    if (r < 3) emit(op.get(c), op.get(ldc), op.i32Add, op.set(c));
  }
  emit(op.get(p), op.i32(1), op.i32Add, op.set(p), op.br(0));
  emit(op.end, op.end);
  emit(op.get(ib), op.i32(1), op.i32Add, op.set(ib), op.br(0));
  emit(op.end, op.end);
  return {
    name: 'gemm',
    params: new Array<number>(10).fill(T.i32),
    results: [],
    locals: [...new Array<number>(6).fill(T.i32), ...new Array<number>(11).fill(T.v128)],
    body,
  };
}

/** A function's local accessors as free functions. */
const bound = (f: Fn) => ({
  get: f.get.bind(f),
  set: f.set.bind(f),
  tee: f.tee.bind(f),
  emit: f.emit.bind(f),
});

/**
 * `gemms(ap, bp, cp, ldcBytes, mBlocks, nPanels, ks, aRow, aStep, aBlock, bStep, bPanel,
 * accumulate)`: `gemm` on operands addressed by byte strides instead of packed panels. A's value
 * (row r of a 4-row block, step k) is at `ap + ib * aBlock + r * aRow + k * aStep`; B's 8 values
 * of panel p, step k at `bp + p * bPanel + k * bStep`. A row-major matrix is then an A
 * (aRow = row stride, aStep = 4), the transpose of one (aRow = 4, aStep = row stride) or a B
 * (bStep = row stride, bPanel = 32) as it lies: the n x d data of PCA is never packed or copied.
 */
function stridedKernel(): FuncDef {
  const i32 = T.i32;
  const f = new Fn('gemms', [
    ['ap', i32],
    ['bp', i32],
    ['cp', i32],
    ['ldc', i32],
    ['mBlocks', i32],
    ['nPanels', i32],
    ['ks', i32],
    ['aRow', i32],
    ['aStep', i32],
    ['aBlock', i32],
    ['bStep', i32],
    ['bPanel', i32],
    ['accumulate', i32],
  ]);
  for (const n of ['ib', 'p', 'a', 'b', 'k', 'c', 'aRow2', 'aRow3']) f.local(n, i32);
  const acc = Array.from({ length: 8 }, (_, i) => `acc${i}`);
  for (const n of [...acc, 'b0', 'b1', 'av']) f.local(n, T.v128);
  const { get, set, tee, emit } = bound(f);
  emit(get('aRow'), op.i32(1), op.i32Shl, set('aRow2'));
  emit(get('aRow2'), get('aRow'), op.i32Add, set('aRow3'));
  emit(op.i32(0), set('ib'));
  emit(op.block, op.loop);
  emit(get('ib'), get('mBlocks'), op.i32GeS, op.brIf(1));
  emit(op.i32(0), set('p'));
  emit(op.block, op.loop);
  emit(get('p'), get('nPanels'), op.i32GeS, op.brIf(1));
  emit(get('cp'), get('ib'), op.i32(2), op.i32Shl, get('ldc'), op.i32Mul, op.i32Add);
  emit(get('p'), op.i32(5), op.i32Shl, op.i32Add, set('c'));
  emit(get('accumulate'), op.if_);
  for (let r = 0; r < 4; r++) {
    emit(get('c'), get('ldc'), op.i32(r), op.i32Mul, op.i32Add, tee('b'));
    emit(op.v128Load(0), set(acc[2 * r]), get('b'), op.v128Load(16), set(acc[2 * r + 1]));
  }
  emit(op.else_);
  for (const r of acc) emit(op.v128Zero, set(r));
  emit(op.end);
  emit(get('ap'), get('ib'), get('aBlock'), op.i32Mul, op.i32Add, set('a'));
  emit(get('bp'), get('p'), get('bPanel'), op.i32Mul, op.i32Add, set('b'));
  emit(get('ks'), set('k'));
  // One k step per iteration, as in `gemm`; the three row offsets are scalar adds beside it.
  emit(op.loop);
  emit(get('b'), op.v128Load(0), set('b0'));
  emit(get('b'), op.v128Load(16), set('b1'));
  const rowAddr: Code[] = [
    get('a'),
    [...get('a'), ...get('aRow'), ...op.i32Add],
    [...get('a'), ...get('aRow2'), ...op.i32Add],
    [...get('a'), ...get('aRow3'), ...op.i32Add],
  ];
  for (let r = 0; r < 4; r++) {
    emit(rowAddr[r], op.v128Load32Splat(0), set('av'));
    emit(multiplyAdd(get(acc[2 * r]), get('av'), get('b0')), set(acc[2 * r]));
    emit(multiplyAdd(get(acc[2 * r + 1]), get('av'), get('b1')), set(acc[2 * r + 1]));
  }
  emit(get('a'), get('aStep'), op.i32Add, set('a'));
  emit(get('b'), get('bStep'), op.i32Add, set('b'));
  emit(get('k'), op.i32(1), op.i32Sub, tee('k'), op.brIf(0));
  emit(op.end);
  for (let r = 0; r < 4; r++) {
    emit(get('c'), get(acc[2 * r]), op.v128Store(0));
    emit(get('c'), get(acc[2 * r + 1]), op.v128Store(16));
    if (r < 3) emit(get('c'), get('ldc'), op.i32Add, set('c'));
  }
  emit(get('p'), op.i32(1), op.i32Add, set('p'), op.br(0));
  emit(op.end, op.end);
  emit(get('ib'), op.i32(1), op.i32Add, set('ib'), op.br(0));
  emit(op.end, op.end);
  return f.def();
}

/**
 * `colsum(xp, n, d, ldBytes, sp)`: adds each column of the float32 `n x d` matrix at `xp` (rows
 * `ldBytes` apart) to the float64 `sp[column]`, rows in order. Float64 sums of float32 values
 * are exact for identical rows and cannot overflow: a non-finite sum means a non-finite value.
 */
function colsumKernel(): FuncDef {
  const i32 = T.i32;
  const f = new Fn('colsum', [
    ['xp', i32],
    ['n', i32],
    ['d', i32],
    ['ldb', i32],
    ['sp', i32],
  ]);
  for (const n of ['i', 'j', 'x', 's', 'd4', 'row']) f.local(n, i32);
  f.local('v', T.v128);
  const { get, set, emit } = bound(f);
  emit(get('d'), op.i32(-4), op.i32And, set('d4'));
  emit(get('xp'), set('row'), op.i32(0), set('i'));
  emit(op.block, op.loop);
  emit(get('i'), get('n'), op.i32GeS, op.brIf(1));
  emit(get('sp'), set('s'), get('row'), set('x'), op.i32(0), set('j'));
  emit(op.block, op.loop);
  emit(get('j'), get('d4'), op.i32GeS, op.brIf(1));
  emit(get('x'), op.v128Load(0), set('v'));
  emit(get('s'), get('s'), op.v128Load(0), get('v'), op.f64x2PromoteLow, op.f64x2Add, op.v128Store(0));
  emit(get('s'), get('s'), op.v128Load(16));
  emit(get('v'), get('v'), op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]));
  emit(op.f64x2PromoteLow, op.f64x2Add, op.v128Store(16));
  emit(get('x'), op.i32(16), op.i32Add, set('x'));
  emit(get('s'), op.i32(32), op.i32Add, set('s'));
  emit(get('j'), op.i32(4), op.i32Add, set('j'), op.br(0));
  emit(op.end, op.end);
  emit(op.block, op.loop);
  emit(get('j'), get('d'), op.i32GeS, op.brIf(1));
  emit(
    get('s'),
    get('s'),
    op.f64Load(0),
    get('x'),
    op.f32Load(0),
    op.f64PromoteF32,
    op.f64Add,
    op.f64Store(0),
  );
  emit(get('x'), op.i32(4), op.i32Add, set('x'));
  emit(get('s'), op.i32(8), op.i32Add, set('s'));
  emit(get('j'), op.i32(1), op.i32Add, set('j'), op.br(0));
  emit(op.end, op.end);
  emit(get('row'), get('ldb'), op.i32Add, set('row'));
  emit(get('i'), op.i32(1), op.i32Add, set('i'), op.br(0));
  emit(op.end, op.end);
  return f.def();
}

/**
 * `centre(xp, n, d, ldBytes, mp) -> f64`: subtracts the float64 column means at `mp` from the
 * float32 matrix in place (difference taken in float64, then rounded) and returns the sum of
 * the squared float64 differences (two lane sums, added at the end).
 */
function centreKernel(): FuncDef {
  // f32x4.demote_f64x2_zero (not in core's table).
  const demoteZero: Code = [0xfd, 0x5e];
  const i32 = T.i32;
  const f = new Fn('centre', [
    ['xp', i32],
    ['n', i32],
    ['d', i32],
    ['ldb', i32],
    ['mp', i32],
  ]);
  for (const n of ['i', 'j', 'x', 'm', 'd4', 'row']) f.local(n, i32);
  for (const n of ['v', 'lo', 'hi', 'ss']) f.local(n, T.v128);
  f.local('tail', T.f64);
  f.local('u', T.f64);
  const { get, set, emit } = bound(f);
  emit(get('d'), op.i32(-4), op.i32And, set('d4'));
  emit(op.v128Zero, set('ss'), op.f64(0), set('tail'));
  emit(get('xp'), set('row'), op.i32(0), set('i'));
  emit(op.block, op.loop);
  emit(get('i'), get('n'), op.i32GeS, op.brIf(1));
  emit(get('mp'), set('m'), get('row'), set('x'), op.i32(0), set('j'));
  emit(op.block, op.loop);
  emit(get('j'), get('d4'), op.i32GeS, op.brIf(1));
  emit(get('x'), op.v128Load(0), set('v'));
  emit(get('v'), op.f64x2PromoteLow, get('m'), op.v128Load(0), op.f64x2Sub, set('lo'));
  emit(get('v'), get('v'), op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]));
  emit(op.f64x2PromoteLow, get('m'), op.v128Load(16), op.f64x2Sub, set('hi'));
  emit(get('ss'), get('lo'), get('lo'), op.f64x2Mul, op.f64x2Add);
  emit(get('hi'), get('hi'), op.f64x2Mul, op.f64x2Add, set('ss'));
  // Back to float32: both halves' lanes 0-1 are what f32x4.demote_f64x2_zero writes.
  emit(get('x'), get('lo'), demoteZero, get('hi'), demoteZero);
  emit(op.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]), op.v128Store(0));
  emit(get('x'), op.i32(16), op.i32Add, set('x'));
  emit(get('m'), op.i32(32), op.i32Add, set('m'));
  emit(get('j'), op.i32(4), op.i32Add, set('j'), op.br(0));
  emit(op.end, op.end);
  emit(op.block, op.loop);
  emit(get('j'), get('d'), op.i32GeS, op.brIf(1));
  emit(get('x'), op.f32Load(0), op.f64PromoteF32, get('m'), op.f64Load(0), op.f64Sub, set('u'));
  emit(get('tail'), get('u'), get('u'), op.f64Mul, op.f64Add, set('tail'));
  emit(get('x'), get('u'), op.f32DemoteF64, op.f32Store(0));
  emit(get('x'), op.i32(4), op.i32Add, set('x'));
  emit(get('m'), op.i32(8), op.i32Add, set('m'));
  emit(get('j'), op.i32(1), op.i32Add, set('j'), op.br(0));
  emit(op.end, op.end);
  emit(get('row'), get('ldb'), op.i32Add, set('row'));
  emit(get('i'), op.i32(1), op.i32Add, set('i'), op.br(0));
  emit(op.end, op.end);
  emit(get('ss'), op.f64x2Extract(0), get('ss'), op.f64x2Extract(1), op.f64Add, get('tail'), op.f64Add);
  return { ...f.def(), results: [T.f64] };
}

/**
 * kNN's candidate filter: `filter(cp, ldc, rows, cols2, a, b, thrRow, thrCol, alpha, both, out)`
 * scans a tile of float32 scores S two columns at a time, v = (a[r] + b[c]) + alpha S[r][c] in
 * float64 (the JS scan's exact expression), and writes r * ldc + c to `out` for every pair of
 * columns where some v <= thrRow[r] (or, with `both`, <= thrCol[c]); returns how many. Past
 * thresholds only fall, so a snapshot keeps every score the exact JS check could accept.
 */
function filterKernel(): FuncDef {
  const i32 = T.i32;
  const f = new Fn('filter', [
    ['cp', i32],
    ['ldc', i32],
    ['rows', i32],
    ['cols2', i32],
    ['a', i32],
    ['b', i32],
    ['thrRow', i32],
    ['thrCol', i32],
    ['alpha', T.f64],
    ['both', i32],
    ['out', i32],
  ]);
  for (const n of ['r', 'c', 'row', 'count']) f.local(n, i32);
  for (const n of ['A', 'TR', 'AL', 'V', 'M']) f.local(n, T.v128);
  const { get, set, emit } = { get: f.get.bind(f), set: f.set.bind(f), emit: f.emit.bind(f) };
  emit(get('alpha'), op.f64x2Splat, set('AL'));
  emit(op.i32(0), set('count'), op.i32(0), set('r'));
  emit(op.block, op.loop);
  emit(get('r'), get('rows'), op.i32GeS, op.brIf(1));
  emit(get('r'), op.i32(3), op.i32Shl, get('a'), op.i32Add, op.v128Load64Splat(0), set('A'));
  emit(get('r'), op.i32(3), op.i32Shl, get('thrRow'), op.i32Add, op.v128Load64Splat(0), set('TR'));
  // row = cp + 4 r ldc
  emit(get('r'), get('ldc'), op.i32Mul, op.i32(2), op.i32Shl, get('cp'), op.i32Add, set('row'));
  emit(op.i32(0), set('c'));
  emit(op.block, op.loop);
  emit(get('c'), get('cols2'), op.i32GeS, op.brIf(1));
  // V = (a + b[c..c+1]) + alpha * promote(S[r][c..c+1])
  emit(get('A'), get('c'), op.i32(3), op.i32Shl, get('b'), op.i32Add, op.v128Load(0), op.f64x2Add);
  emit(
    get('AL'),
    get('c'),
    op.i32(2),
    op.i32Shl,
    get('row'),
    op.i32Add,
    op.v128Load64Zero(0),
    op.f64x2PromoteLow,
  );
  emit(op.f64x2Mul, op.f64x2Add, set('V'));
  emit(get('V'), get('TR'), op.f64x2Le, set('M'));
  emit(get('both'), op.if_);
  emit(
    get('M'),
    get('V'),
    get('c'),
    op.i32(3),
    op.i32Shl,
    get('thrCol'),
    op.i32Add,
    op.v128Load(0),
    op.f64x2Le,
  );
  emit(op.v128Or, set('M'), op.end);
  emit(get('M'), op.v128AnyTrue, op.if_);
  emit(get('count'), op.i32(2), op.i32Shl, get('out'), op.i32Add);
  emit(get('r'), get('ldc'), op.i32Mul, get('c'), op.i32Add, op.i32Store(0));
  emit(get('count'), op.i32(1), op.i32Add, set('count'));
  emit(op.end);
  emit(get('c'), op.i32(2), op.i32Add, set('c'), op.br(0));
  emit(op.end, op.end);
  emit(get('r'), op.i32(1), op.i32Add, set('r'), op.br(0));
  emit(op.end, op.end);
  emit(get('count'));
  const def = f.def();
  return { ...def, results: [i32] };
}

const compiled = new Map<boolean, WebAssembly.Module | null>();

/**
 * The compiled kernel module for a private or a shared memory (cloneable to worker threads),
 * or null without WebAssembly SIMD.
 */
export function gemmModule(shared = false): WebAssembly.Module | null {
  if (!compiled.has(shared)) {
    let mod: WebAssembly.Module | null = null;
    try {
      if (hasWasmSimd())
        mod = new WebAssembly.Module(
          buildModule([gemmKernel(), filterKernel(), stridedKernel(), colsumKernel(), centreKernel()], {
            shared,
            maxPages: 65536,
          }),
        );
    } catch {
      mod = null;
    }
    compiled.set(shared, mod);
  }
  return compiled.get(shared)!;
}

// Control words of the worker pool (Int32Array) and its parameters (Float64Array).
const GEN = 0;
const STOP = 1;
const NEXT = 2;
const DONE = 3;
const ROW_BLOCKS = 16;
const PARAMS = 17;
/** Bytes per chunk of a `prefault` round. */
const TOUCH_BYTES = 1 << 20;

/** An A operand in kernel memory, addressed by byte strides (see `gemms`). */
export interface OperandA {
  ptr: number;
  row: number;
  step: number;
  block: number;
}

/** A B operand in kernel memory, addressed by byte strides (see `gemms`). */
export interface OperandB {
  ptr: number;
  step: number;
  panel: number;
}

/**
 * A row-major float32 matrix in kernel memory: byte offset, shape and row stride in floats.
 * Strided reads run past its end (A up to 3 rows, B up to 7 columns): allocations leave room.
 */
export interface View {
  ptr: number;
  rows: number;
  cols: number;
  ld: number;
}

/** The rows of `v` as A (k = v.cols). */
export const asA = (v: View): OperandA => ({ ptr: v.ptr, row: v.ld * 4, step: 4, block: v.ld * 16 });
/** The transpose of `v` as A (rows = v.cols, k = v.rows). */
export const asAt = (v: View): OperandA => ({ ptr: v.ptr, row: 4, step: v.ld * 4, block: 16 });
/** `v` as B (k = v.rows, cols = v.cols). */
export const asB = (v: View): OperandB => ({ ptr: v.ptr, step: v.ld * 4, panel: 32 });
/** A packed A (`packA`) with `kp` inner steps. */
export const packedOperandA = (ptr: number, kp: number): OperandA => ({
  ptr,
  row: 4,
  step: 16,
  block: kp * 16,
});
/** A packed B (`packB`) with `kp` inner steps. */
export const packedOperandB = (ptr: number, kp: number): OperandB => ({ ptr, step: 32, panel: kp * 32 });

/**
 * One chunk of a strided product: `q` holds [ap, aRow, aStep, aBlock, bp, bStep, bPanel, cp,
 * ldc, mBlocks, nPanels, kp, rowChunk, panelChunk, kc, pg]; chunk `t` is a block of `rowChunk`
 * row blocks by `panelChunk` panels, run in slices of `kc` inner steps by `pg` panels (so a B
 * slice stays in cache while the A rows stream by). Every C value sums its k steps in the same
 * order whatever the chunks, so the result does not depend on the threads. Self-contained
 * (worker threads run its source text).
 */
export function stridedChunk(fn: (...args: number[]) => void, q: ArrayLike<number>, t: number): void {
  const [
    ap,
    aRow,
    aStep,
    aBlock,
    bp,
    bStep,
    bPanel,
    cp,
    ldc,
    mBlocks,
    nPanels,
    kp,
    rowChunk,
    panelChunk,
    kc,
    pg,
  ] = Array.from(q);
  const colChunks = Math.ceil(nPanels / panelChunk);
  const rc = Math.floor(t / colChunks);
  const b0 = rc * rowChunk;
  const p0 = (t - rc * colChunks) * panelChunk;
  const mb = Math.min(rowChunk, mBlocks - b0);
  const np = Math.min(panelChunk, nPanels - p0);
  const a = ap + b0 * aBlock;
  const b = bp + p0 * bPanel;
  const c = cp + b0 * 16 * ldc + p0 * 32;
  for (let k0 = 0; k0 < kp; k0 += kc) {
    const ks = Math.min(kc, kp - k0);
    for (let g = 0; g < np; g += pg) {
      fn(
        a + k0 * aStep,
        b + g * bPanel + k0 * bStep,
        c + g * 32,
        ldc * 4,
        mb,
        Math.min(pg, np - g),
        ks,
        aRow,
        aStep,
        aBlock,
        bStep,
        bPanel,
        k0 > 0 ? 1 : 0,
      );
    }
  }
}

/**
 * Chunks of a pool round: `q` as in `stridedChunk`, or, with q[16] = 1, [start, bytes,
 * chunkBytes] of a `prefault` round. Self-contained.
 */
export function chunkCount(q: ArrayLike<number>): number {
  return q[16] === 1 ? Math.ceil(q[1] / q[2]) : Math.ceil(q[9] / q[12]) * Math.ceil(q[10] / q[13]);
}

/**
 * Runs chunk `t` of a pool round (see `chunkCount`). A prefault chunk writes a zero to every
 * page of its part of the (free) range, so the kernel's first real writes there find the pages
 * mapped: the operating system's page faults then cost this thread's time, not the caller's.
 * Self-contained.
 */
export function poolChunk(
  fn: (...args: number[]) => void,
  memory: WebAssembly.Memory,
  q: ArrayLike<number>,
  t: number,
): void {
  if (q[16] !== 1) {
    stridedChunk(fn, q, t);
    return;
  }
  const lo = q[0] + t * q[2];
  const hi = Math.min(q[0] + q[1], lo + q[2]);
  const u8 = new Uint8Array(memory.buffer);
  for (let a = lo; a < hi; a += 4096) u8[a] = 0;
  if (hi > lo) u8[hi - 1] = 0;
}

/**
 * Worker program: wait for a product, claim its chunks (tagged with the product's round, see
 * chunks.ts), run the kernel on them (all threads share one wasm memory), count them done. The
 * caller waits for done chunks, not for workers, so a late worker costs nothing.
 */
const POOL_SOURCE = (): string => `
const { workerData, parentPort } = require('node:worker_threads');
var __name = (f) => f;
const stridedChunk = (${stridedChunk.toString()});
const poolChunk = (${poolChunk.toString()});
const chunkCount = (${chunkCount.toString()});
const claimChunk = (${claimChunk.toString()});
const { ctrl, params, module, memory } = workerData;
const fn = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.gemms;
let gen = Atomics.load(ctrl, ${GEN});
parentPort.postMessage('ready');
for (;;) {
  if (Atomics.load(ctrl, ${STOP}) === 1) break;
  Atomics.wait(ctrl, ${GEN}, gen);
  gen = Atomics.load(ctrl, ${GEN});
  if (Atomics.load(ctrl, ${STOP}) === 1) break;
  const q = Array.from(params);
  const chunks = chunkCount(q);
  for (;;) {
    const t = claimChunk(ctrl, ${NEXT}, gen & 0x7ff, chunks);
    if (t < 0) break;
    poolChunk(fn, memory, q, t);
    if (Atomics.add(ctrl, ${DONE}, 1) + 1 === chunks) Atomics.notify(ctrl, ${DONE});
  }
}
`;

interface Pool {
  workers: Array<{ terminate(): Promise<number> }>;
  ctrl: Int32Array;
  params: Float64Array;
}

type Kernel = (...args: number[]) => number;

/**
 * One instance of the kernel with its own memory and a bump allocator; with `threads` > 1
 * (Node), a shared memory and threads - 1 workers that split each large product by rows (or,
 * for a product with few rows, by columns).
 */
export class SimdGemm {
  readonly memory: WebAssembly.Memory;
  private readonly gemmsFn: Kernel;
  private readonly colsumFn: Kernel;
  private readonly centreFn: Kernel;
  private readonly filterFn: Kernel;
  private top = 0;
  private pool?: Pool;
  /** A prefault round the caller has not joined yet. */
  private pending?: { gen: number; q: number[]; chunks: number };

  constructor(module: WebAssembly.Module, memory?: WebAssembly.Memory) {
    this.memory = memory ?? new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const ex = new WebAssembly.Instance(module, { env: { mem: this.memory } }).exports;
    this.gemmsFn = ex.gemms as Kernel;
    this.colsumFn = ex.colsum as Kernel;
    this.centreFn = ex.centre as Kernel;
    this.filterFn = ex.filter as Kernel;
  }

  /**
   * A kernel on `threads` threads (Node worker_threads; one thread elsewhere or on failure).
   * `wait` false: return once the workers are spawned, not started; each joins the products
   * when it is up (the calling thread computes every chunk no worker claims), so their ~30 ms
   * start overlaps the caller's own work.
   */
  static async create(threads: number, wait = true): Promise<SimdGemm | null> {
    const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
    const shared = threads > 1 && isNode ? gemmModule(true) : null;
    if (shared === null) {
      const mod = gemmModule(false);
      return mod ? new SimdGemm(mod) : null;
    }
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const g = new SimdGemm(shared, memory);
    const { Worker } = await import('node:worker_threads');
    const ctrl = new Int32Array(new SharedArrayBuffer(16));
    const params = new Float64Array(new SharedArrayBuffer(8 * PARAMS));
    const workers: InstanceType<typeof Worker>[] = [];
    try {
      for (let w = 1; w < threads; w++) {
        const worker = new Worker(POOL_SOURCE(), {
          eval: true,
          // Plain JavaScript: none of the parent's loaders (e.g. a TypeScript one) to start.
          execArgv: [],
          workerData: { ctrl, params, module: shared, memory },
        });
        // A worker that fails never claims a chunk; the caller computes them.
        worker.on('error', () => {});
        workers.push(worker);
      }
      if (wait) await workersReady(workers);
    } catch {
      // No workers (e.g. a sandbox without worker_threads): the one thread still computes.
      await Promise.all(workers.map((w) => w.terminate()));
      return g;
    }
    g.pool = { workers, ctrl, params };
    return g;
  }

  /** Stops the worker threads (without waiting for them to exit). */
  async close(): Promise<void> {
    // A pending prefault round is abandoned: its range is never used.
    this.pending = undefined;
    const p = this.pool;
    if (!p) return;
    this.pool = undefined;
    Atomics.store(p.ctrl, STOP, 1);
    Atomics.add(p.ctrl, GEN, 1);
    Atomics.notify(p.ctrl, GEN);
    // Workers leave their loop on STOP; terminating also stops one still starting. Nothing is
    // left to wait for: the caller's products are all done.
    for (const w of p.workers) w.terminate().catch(() => {});
  }

  /**
   * Has the worker threads map the pages of the next `floats` slots (not allocated) while the
   * caller does something else; the caller joins in at its next allocation or product. Nothing
   * happens without workers.
   */
  prefault(floats: number): void {
    const p = this.pool;
    if (!p || this.pending) return;
    const bytes = Math.ceil((floats * 4) / 16) * 16;
    const need = Math.ceil((this.top + bytes) / 65536) - this.memory.buffer.byteLength / 65536;
    try {
      if (need > 0) this.memory.grow(need);
    } catch {
      // Past the memory's limit: `alloc` will say so when it is needed.
      return;
    }
    const q = new Array<number>(PARAMS).fill(0);
    q[0] = this.top;
    q[1] = bytes;
    q[2] = TOUCH_BYTES;
    q[16] = 1;
    const chunks = chunkCount(q);
    this.pending = { gen: this.begin(p, q), q, chunks };
  }

  /** Reserves `floats` float32 slots (16-byte aligned); returns the byte offset. */
  alloc(floats: number): number {
    this.settle();
    const at = this.top;
    this.top += Math.ceil((floats * 4) / 16) * 16;
    const need = Math.ceil(this.top / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    return at;
  }

  /** Frees everything allocated so far, or everything after `mark` (a value `mark()` returned). */
  reset(mark = 0): void {
    this.top = mark;
  }

  mark(): number {
    return this.top;
  }

  /**
   * Allocates and packs rows of a row-major `rows x k` matrix as A (minus `shift` per column,
   * when given); returns its offset.
   */
  packedA(src: ArrayLike<number>, rows: number, k: number, shift?: Float64Array): number {
    const at = this.alloc(packedASize(rows, k));
    packA(f32(src), k, 0, rows, k, this.f32(), at >> 2, shift);
    return at;
  }

  /** Allocates and packs the transpose of a row-major `k x rows` matrix as A (minus `shift`). */
  packedAt(src: ArrayLike<number>, k: number, rows: number, shift?: Float64Array): number {
    const at = this.alloc(packedASize(rows, k));
    packAt(f32(src), k, rows, this.f32(), at >> 2, shift);
    return at;
  }

  /** Allocates and packs a row-major `k x cols` matrix as B. */
  packedB(src: ArrayLike<number>, k: number, cols: number): OperandB {
    const at = this.alloc(packedBSize(cols, k));
    packB(f32(src), k, cols, this.f32(), at >> 2);
    return packedOperandB(at, k);
  }

  /**
   * Allocates a `rows x cols` matrix with row stride `ld` (>= cols) and room for strided reads
   * past its end, zeroed there and in the row padding; `src` (row-major) fills it when given.
   */
  matrix(rows: number, cols: number, src?: ArrayLike<number>, ld = cols): View {
    const size = matrixSize(rows, ld);
    const ptr = this.alloc(size);
    const f = this.f32();
    const base = ptr >> 2;
    if (src) {
      const s = f32(src);
      if (ld === cols) f.set(s.subarray(0, rows * cols), base);
      else for (let i = 0; i < rows; i++) f.set(s.subarray(i * cols, (i + 1) * cols), base + i * ld);
    }
    if (ld > cols) for (let i = 0; i < rows; i++) f.fill(0, base + i * ld + cols, base + (i + 1) * ld);
    f.fill(0, base + rows * ld, base + size);
    return { ptr, rows, cols, ld };
  }

  /** A row-major copy of `v` (rows x cols, no padding). */
  read(v: View): Float32Array {
    const f = this.f32();
    const base = v.ptr >> 2;
    if (v.ld === v.cols) return f.slice(base, base + v.rows * v.cols);
    const out = new Float32Array(v.rows * v.cols);
    for (let i = 0; i < v.rows; i++)
      out.set(f.subarray(base + i * v.ld, base + i * v.ld + v.cols), i * v.cols);
    return out;
  }

  /**
   * C = A B for A `rows x k` and B `k x cols` (k >= 1) given by strides, into a new matrix, or
   * at byte offset `at` (`productSize` floats). Its row stride is a multiple of 8; padding rows
   * and columns hold whatever the operands' padding gave. `kc` inner steps and `pg` panels per
   * slice (see `stridedChunk`).
   */
  product(
    A: OperandA,
    rows: number,
    k: number,
    B: OperandB,
    cols: number,
    kc = 512,
    pg = 8,
    at?: number,
  ): View {
    const ldc = Math.ceil(cols / NR) * NR;
    const mBlocks = Math.ceil(rows / MR);
    const cp = at ?? this.alloc(productSize(rows, cols));
    this.run(A, B, cp, ldc, mBlocks, ldc / NR, k, kc, pg);
    return { ptr: cp, rows, cols, ld: ldc };
  }

  /** Float64 column sums of `v`, rows in order. */
  columnSums(v: View): Float64Array {
    const m = this.mark();
    const sp = this.alloc(2 * v.cols);
    new Float64Array(this.memory.buffer, sp, v.cols).fill(0);
    this.colsumFn(v.ptr, v.rows, v.cols, v.ld * 4, sp);
    const out = new Float64Array(this.memory.buffer, sp, v.cols).slice();
    this.reset(m);
    return out;
  }

  /** Subtracts `mean` from each row of `v` in place; returns the sum of squares. */
  centre(v: View, mean: Float64Array): number {
    const m = this.mark();
    const mp = this.alloc(2 * v.cols);
    new Float64Array(this.memory.buffer, mp, v.cols).set(mean);
    const ss = this.centreFn(v.ptr, v.rows, v.cols, v.ld * 4, mp);
    this.reset(m);
    return ss;
  }

  /**
   * (packed A at `ap`: `rows x k`) times B (row-major `k x cols`), as a new row-major
   * `rows x cols` array. Scratch memory is released afterwards.
   */
  mul(ap: number, rows: number, k: number, B: ArrayLike<number>, cols: number): Float32Array {
    const m = this.mark();
    const bp = this.alloc(packedBSize(cols, k));
    const ldc = Math.ceil(cols / NR) * NR;
    const cp = this.alloc(Math.ceil(rows / MR) * MR * ldc);
    packB(f32(B), k, cols, this.f32(), bp >> 2);
    this.gemm(ap, bp, cp, ldc, Math.ceil(rows / MR), Math.ceil(cols / NR), k);
    const out = this.read({ ptr: cp, rows, cols, ld: ldc });
    this.reset(m);
    return out;
  }

  /**
   * `mul` without reading the product out: kNN's SIMD filter (`filterKernel`) scans it in place
   * for the column pairs of each row r where (a[r] + b[c]) + alpha S[r][c] <= thr[r] for either
   * column. Returns views of the scores (row stride `ldc`) and of the `count` hits (r * ldc + c,
   * c even), valid until the caller resets memory past its own `mark()` taken before.
   */
  mulFilter(
    ap: number,
    rows: number,
    k: number,
    B: ArrayLike<number>,
    cols: number,
    a: Float64Array,
    b: Float64Array,
    thr: Float64Array,
    alpha: number,
  ): { scores: Float32Array; ldc: number; hits: Int32Array; count: number } {
    const bp = this.alloc(packedBSize(cols, k));
    const ldc = Math.ceil(cols / NR) * NR;
    const cp = this.alloc(Math.ceil(rows / MR) * MR * ldc);
    const cols2 = cols + (cols & 1);
    const aOff = this.alloc(2 * rows);
    const thrOff = this.alloc(2 * rows);
    const bOff = this.alloc(2 * cols2);
    const outOff = this.alloc(rows * (cols2 >> 1));
    packB(f32(B), k, cols, this.f32(), bp >> 2);
    this.gemm(ap, bp, cp, ldc, Math.ceil(rows / MR), Math.ceil(cols / NR), k);
    const buf = this.memory.buffer;
    new Float64Array(buf, aOff, rows).set(a.subarray(0, rows));
    new Float64Array(buf, thrOff, rows).set(thr.subarray(0, rows));
    const bv = new Float64Array(buf, bOff, cols2);
    bv.set(b.subarray(0, cols));
    bv.fill(0, cols);
    const count = this.filterFn(cp, ldc, rows, cols2, aOff, bOff, thrOff, bOff, alpha, 0, outOff);
    return {
      scores: new Float32Array(buf, cp, rows * ldc),
      ldc,
      hits: new Int32Array(buf, outOff, count),
      count,
    };
  }

  /** `Y^T Y` for a row-major `rows x cols` Y (float32 products, float64 result). */
  gram(Y: ArrayLike<number>, rows: number, cols: number): Float64Array {
    const m = this.mark();
    const ap = this.packedAt(Y, rows, cols);
    const G = Float64Array.from(this.mul(ap, cols, rows, Y, cols));
    this.reset(m);
    symmetrise(G, cols);
    return G;
  }

  /** `V^T V` (float32 products, float64 result) of a matrix in kernel memory. */
  gramOf(v: View): Float64Array {
    const m = this.mark();
    // Short slices: B walks down v's rows (see `product`).
    const c = this.product(asAt(v), v.cols, v.rows, asB(v), v.cols, 32);
    const G = Float64Array.from(this.read(c));
    this.reset(m);
    symmetrise(G, v.cols);
    return G;
  }

  /** `V V^T` (float32 products, float64 result) of a matrix in kernel memory. */
  gramRows(v: View): Float64Array {
    const m = this.mark();
    const bp = this.alloc(packedBSize(v.rows, v.cols));
    packBt(this.read(v), v.cols, 0, v.rows, v.cols, this.f32(), bp >> 2);
    const c = this.product(asA(v), v.rows, v.cols, packedOperandB(bp, v.cols), v.rows);
    const G = Float64Array.from(this.read(c));
    this.reset(m);
    symmetrise(G, v.rows);
    return G;
  }

  /** A float32 view of the memory (take a new one after `alloc`, which may grow it). */
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /**
   * C (rows 4 * mBlocks, columns 8 * nPanels, row stride `ldc` floats) = A B, from packed
   * operands with `kp` inner steps.
   */
  gemm(ap: number, bp: number, cp: number, ldc: number, mBlocks: number, nPanels: number, kp: number): void {
    this.run(packedOperandA(ap, kp), packedOperandB(bp, kp), cp, ldc, mBlocks, nPanels, kp, 512, 8);
  }

  private run(
    A: OperandA,
    B: OperandB,
    cp: number,
    ldc: number,
    mBlocks: number,
    nPanels: number,
    kp: number,
    kc: number,
    pg: number,
  ): void {
    const byRows = mBlocks >= 2 * ROW_BLOCKS;
    const rowChunk = byRows ? ROW_BLOCKS : mBlocks;
    const panelChunk = byRows ? nPanels : Math.min(pg, Math.max(1, Math.ceil(nPanels / 8)));
    const q = [A.ptr, A.row, A.step, A.block, B.ptr, B.step, B.panel, cp, ldc, mBlocks, nPanels, kp];
    q.push(rowChunk, panelChunk, kc, pg, 0);
    const chunks = chunkCount(q);
    this.settle();
    const p = this.pool;
    if (!p || chunks < 2 || mBlocks * nPanels * kp < 1 << 20) {
      for (let t = 0; t < chunks; t++) stridedChunk(this.gemmsFn, q, t);
      return;
    }
    this.join(p, this.begin(p, q), q, chunks);
  }

  /** Publishes round `q` of `chunks` chunks to the workers; returns its generation. */
  private begin(p: Pool, q: number[]): number {
    p.params.set(q);
    const gen = Atomics.load(p.ctrl, GEN) + 1;
    Atomics.store(p.ctrl, DONE, 0);
    Atomics.store(p.ctrl, NEXT, roundTag(gen) << CHUNK_BITS);
    // The atomic store publishes the parameters (and the operands) to the workers.
    Atomics.store(p.ctrl, GEN, gen);
    Atomics.notify(p.ctrl, GEN);
    return gen;
  }

  /** Computes the chunks of round `gen` no worker has claimed, then waits for the rest. */
  private join(p: Pool, gen: number, q: number[], chunks: number): void {
    for (;;) {
      const t = claimChunk(p.ctrl, NEXT, roundTag(gen), chunks);
      if (t < 0) break;
      poolChunk(this.gemmsFn, this.memory, q, t);
      Atomics.add(p.ctrl, DONE, 1);
    }
    // Only chunks a worker claimed and has not finished are left to wait for.
    for (;;) {
      const done = Atomics.load(p.ctrl, DONE);
      if (done >= chunks) break;
      Atomics.wait(p.ctrl, DONE, done, 1000);
    }
  }

  /** Joins a pending prefault round (before its range is written or another round begins). */
  private settle(): void {
    const r = this.pending;
    if (!r || !this.pool) return;
    this.pending = undefined;
    this.join(this.pool, r.gen, r.q, r.chunks);
  }
}

/** Floats `matrix(rows, cols, src, ld)` takes. */
export const matrixSize = (rows: number, ld: number): number => Math.ceil(rows / MR) * MR * ld + NR;

/** Floats the result of `product` takes (with room for strided reads past its end). */
export const productSize = (rows: number, cols: number): number =>
  Math.ceil(rows / MR) * MR * Math.ceil(cols / NR) * NR + NR;

/** Both triangles come from the same sums in different order: average them. */
function symmetrise(G: Float64Array, n: number): void {
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const v = 0.5 * (G[a * n + b] + G[b * n + a]);
      G[a * n + b] = v;
      G[b * n + a] = v;
    }
  }
}

/**
 * Drives the kernel in blocks of 512 inner steps x 64 columns, so the B block stays in L2
 * while every A row streams by. Self-contained (worker threads run its source text).
 */
export function gemmBlocked(
  fn: (...args: number[]) => void,
  ap: number,
  bp: number,
  cp: number,
  ldc: number,
  mBlocks: number,
  nPanels: number,
  kp: number,
): void {
  const KC = 512;
  const NCP = 8;
  for (let k0 = 0; k0 < kp; k0 += KC) {
    const ks = Math.min(KC, kp - k0);
    for (let p0 = 0; p0 < nPanels; p0 += NCP) {
      fn(
        ap + k0 * 16,
        bp + p0 * kp * 32 + k0 * 32,
        cp + p0 * 32,
        ldc * 4,
        mBlocks,
        Math.min(NCP, nPanels - p0),
        ks,
        kp * 16,
        kp * 32,
        k0 > 0 ? 1 : 0,
      );
    }
  }
}

/** The packers read Float32Array only (one element kind keeps their loops monomorphic). */
const f32 = (x: ArrayLike<number>): Float32Array => (x instanceof Float32Array ? x : Float32Array.from(x));

/** K as the kernel stores it (no padding needed: every k step is a whole 16-byte vector). */
export const padK = (k: number): number => k;

/**
 * Packs rows [r0, r0 + rows) of a row-major `src` (row length `d`, first `k` entries used) as
 * A micro-panels at float index `at` of `dst`, minus `shift[t]` from column t when given (the
 * column means, for PCA: centring and packing in one pass); rows past the end are zero.
 */
export function packA(
  src: Float32Array,
  d: number,
  r0: number,
  rows: number,
  k: number,
  dst: Float32Array,
  at: number,
  shift?: Float64Array,
): void {
  const kp = padK(k);
  const none = new Float64Array(0);
  const sh = shift ?? none;
  const useShift = shift !== undefined;
  // Four rows at a time, the panel written in order (row by row strides by 16 bytes: 2x slower).
  // Rows past the end read row 0 and are zeroed afterwards.
  for (let g = 0; g < rows; g += MR) {
    const o = at + g * kp;
    const m = Math.min(MR, rows - g);
    const s0 = (r0 + g) * d;
    const s1 = m > 1 ? s0 + d : s0;
    const s2 = m > 2 ? s0 + 2 * d : s0;
    const s3 = m > 3 ? s0 + 3 * d : s0;
    for (let t = 0; t < k; t++) {
      const mu = useShift ? sh[t] : 0;
      const w = o + t * MR;
      dst[w] = src[s0 + t] - mu;
      dst[w + 1] = src[s1 + t] - mu;
      dst[w + 2] = src[s2 + t] - mu;
      dst[w + 3] = src[s3 + t] - mu;
    }
    for (let j = m; j < MR; j++) for (let t = 0; t < k; t++) dst[o + t * MR + j] = 0;
  }
}

/**
 * Packs the transpose of rows [r0, r0 + rows) of `src` as B panels: B's column c is src row
 * r0 + c (so A B = A src^T). Columns past the end are zero.
 */
export function packBt(
  src: Float32Array,
  d: number,
  r0: number,
  rows: number,
  k: number,
  dst: Float32Array,
  at: number,
): void {
  const kp = padK(k);
  const panels = Math.ceil(rows / NR);
  dst.fill(0, at, at + panels * kp * NR);
  for (let c = 0; c < rows; c++) {
    const o = at + (c >> 3) * kp * NR + (c & 7);
    const s = (r0 + c) * d;
    for (let t = 0; t < k; t++) dst[o + t * NR] = src[s + t];
  }
}

/** Packs a row-major `k x cols` matrix B as B panels (columns past `cols` are zero). */
export function packB(src: Float32Array, k: number, cols: number, dst: Float32Array, at: number): void {
  const kp = padK(k);
  const panels = Math.ceil(cols / NR);
  dst.fill(0, at, at + panels * kp * NR);
  for (let t = 0; t < k; t++) {
    for (let c = 0; c < cols; c++) dst[at + (c >> 3) * kp * NR + t * NR + (c & 7)] = src[t * cols + c];
  }
}

/**
 * Packs the transpose of a row-major `k x rows` matrix as A micro-panels (A = src^T), minus
 * `shift[r]` from column r when given. Blocks of 64 source rows keep the reads in cache.
 */
export function packAt(
  src: Float32Array,
  k: number,
  rows: number,
  dst: Float32Array,
  at: number,
  shift?: Float64Array,
): void {
  const kp = padK(k);
  const padded = Math.ceil(rows / MR) * MR;
  const B = 64;
  for (let t0 = 0; t0 < k; t0 += B) {
    const t1 = Math.min(k, t0 + B);
    for (let r = 0; r < padded; r++) {
      const base = at + (r >> 2) * kp * MR + (r & 3);
      if (r >= rows) {
        for (let t = t0; t < t1; t++) dst[base + t * MR] = 0;
        continue;
      }
      const sh = shift ? shift[r] : 0;
      for (let t = t0; t < t1; t++) dst[base + t * MR] = src[t * rows + r] - sh;
    }
  }
}

/** Floats a packed A of `rows` rows and a packed B of `cols` columns take. */
export const packedASize = (rows: number, k: number): number => Math.ceil(rows / MR) * MR * padK(k);
export const packedBSize = (cols: number, k: number): number => Math.ceil(cols / NR) * NR * padK(k);

/** A new kernel instance with its own memory (freed with it), or null without WebAssembly SIMD. */
export function simdGemm(): SimdGemm | null {
  const mod = gemmModule(false);
  return mod ? new SimdGemm(mod) : null;
}
