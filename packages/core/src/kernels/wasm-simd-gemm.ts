import { threadedFunction, type ThreadedFunction, type WasmThreads } from './wasm-threads.js';
import { buildModule, type Code, Fn, hasRelaxedSimd, op, T, type FuncDef } from '../wasm-asm.js';

/** Columns per packed panel of B: two v128 accumulators per row. */
export const PANEL = 8;
/** Rows per block: 4 x 2 accumulators, the two B vectors and the splat fit V8's 15 usable xmm registers. */
const MR = 4;

/**
 * gemm(a, lda, b, c, ldc, m, k, n): C[m x n] = A[m x k] · B[k x n], byte offsets and byte row strides; B packed by
 * `packPanels` (n/8 panels of k x 8 floats, the last zero-filled past n; any n: the last columns are stored lane by
 * lane). Each block of 4 rows x 8 columns keeps its sums in registers over the whole k: one splat of A and two
 * multiply-adds per row and step.
 * Measured on one core (m x k x n = 196 x 80 x 192 and others): 23-24 GMAC/s with relaxed SIMD's fused multiply-add,
 * 18-19 with a multiply and an add; XNNPACK's 1x1 convolution runs the same products at ~16.
 */
function gemmFunction(fma: boolean): FuncDef {
  const f = new Fn('gemm', [
    ['a', T.i32],
    ['lda', T.i32],
    ['b', T.i32],
    ['c', T.i32],
    ['ldc', T.i32],
    ['m', T.i32],
    ['k', T.i32],
    ['n', T.i32],
  ]);
  for (const l of ['j', 'bp', 'i', 'pa', 'pc', 'pb', 'cnt', 'kEnd']) f.local(l, T.i32);
  for (const l of ['b0', 'b1', 's']) f.local(l, T.v128);
  for (let r = 0; r < MR; r++) {
    f.local(`a${r}`, T.i32);
    f.local(`c${r}_0`, T.v128);
    f.local(`c${r}_1`, T.v128);
  }
  const rowOf = (base: string, stride: string, r: number): Code =>
    r === 0 ? f.get(base) : [...f.get(base), ...f.get(stride), ...op.i32(r), ...op.i32Mul, ...op.i32Add];
  /** Rows pa .. pa+rows-1 times the panel at bp into pc. */
  const block = (rows: number): Code[] => {
    const code: Code[] = [];
    for (let r = 0; r < rows; r++) {
      code.push(
        op.v128Zero,
        f.set(`c${r}_0`),
        op.v128Zero,
        f.set(`c${r}_1`),
        rowOf('pa', 'lda', r),
        f.set(`a${r}`),
      );
    }
    code.push(f.get('bp'), f.set('pb'));
    code.push(op.block, op.loop, f.get('pb'), f.get('kEnd'), op.i32GeS, op.brIf(1));
    code.push(f.get('pb'), op.v128Load(0), f.set('b0'), f.get('pb'), op.v128Load(16), f.set('b1'));
    for (let r = 0; r < rows; r++) {
      code.push(f.get(`a${r}`), op.v128Load32Splat(0), f.set('s'));
      for (const j of [0, 1]) {
        code.push(f.get('s'), f.get(`b${j}`));
        if (fma) code.push(f.get(`c${r}_${j}`), op.f32x4RelaxedMadd);
        else code.push(op.f32x4Mul, f.get(`c${r}_${j}`), op.f32x4Add);
        code.push(f.set(`c${r}_${j}`));
      }
      code.push(f.get(`a${r}`), op.i32(4), op.i32Add, f.set(`a${r}`));
    }
    code.push(f.get('pb'), op.i32(4 * PANEL), op.i32Add, f.set('pb'), op.br(0), op.end, op.end);
    // `cnt` columns of this panel are C's (8, or 1-7 at the right edge): whole vectors, then single lanes.
    const storeUpTo = (r: number, j: 0 | 1): Code => {
      const addr = rowOf('pc', 'ldc', r);
      const left = j === 0 ? f.get('cnt') : [...f.get('cnt'), ...op.i32(4), ...op.i32Sub];
      const out: Code = [...left, ...op.i32(4), ...op.i32GeS, ...op.if_, ...addr, ...f.get(`c${r}_${j}`)];
      out.push(...op.v128Store(16 * j), ...op.else_);
      for (let lane = 0; lane < 3; lane++) {
        out.push(...left, ...op.i32(lane), ...op.i32GtS, ...op.if_, ...addr, ...f.get(`c${r}_${j}`));
        out.push(...op.f32x4Extract(lane), ...op.f32Store(16 * j + 4 * lane), ...op.end);
      }
      return [...out, ...op.end];
    };
    for (let r = 0; r < rows; r++) code.push(storeUpTo(r, 0), storeUpTo(r, 1));
    return code;
  };
  // For each panel j (8 columns, or fewer at the end): all row blocks, then the 1-3 rows left.
  f.emit(op.i32(0), f.set('j'), f.get('b'), f.set('bp'));
  f.emit(op.block, op.loop, f.get('j'), f.get('n'), op.i32GeS, op.brIf(1));
  f.emit(f.get('n'), f.get('j'), op.i32Sub, f.set('cnt'));
  f.emit(f.get('bp'), f.get('k'), op.i32(5), op.i32Shl, op.i32Add, f.set('kEnd'));
  f.emit(op.i32(0), f.set('i'), f.get('a'), f.set('pa'));
  f.emit(f.get('c'), f.get('j'), op.i32(2), op.i32Shl, op.i32Add, f.set('pc'));
  f.emit(op.block, op.loop, f.get('i'), op.i32(MR), op.i32Add, f.get('m'), op.i32GtS, op.brIf(1));
  f.emit(...block(MR));
  f.emit(f.get('i'), op.i32(MR), op.i32Add, f.set('i'));
  f.emit(f.get('pa'), f.get('lda'), op.i32(MR), op.i32Mul, op.i32Add, f.set('pa'));
  f.emit(f.get('pc'), f.get('ldc'), op.i32(MR), op.i32Mul, op.i32Add, f.set('pc'));
  f.emit(op.br(0), op.end, op.end);
  for (let rows = 1; rows < MR; rows++) {
    f.emit(f.get('m'), f.get('i'), op.i32Sub, op.i32(rows), op.i32Eq, op.if_, ...block(rows), op.end);
  }
  f.emit(
    f.get('j'),
    op.i32(PANEL),
    op.i32Add,
    f.set('j'),
    f.get('kEnd'),
    f.set('bp'),
    op.br(0),
    op.end,
    op.end,
  );
  return f.def();
}

/**
 * gemmTable(table, count, lda, ldc, m, k, n, next): the `count` products whose (A, B, C) byte offsets are the i32
 * triples at `table`, all m x k times k x n, taken one at a time by atomically incrementing the i32 at `next` (zero at
 * the start): threads running the same call share the products, and a thread that starts late takes fewer or none.
 */
function gemmTableFunction(): FuncDef {
  const f = new Fn('gemmTable', [
    ['table', T.i32],
    ['count', T.i32],
    ['lda', T.i32],
    ['ldc', T.i32],
    ['m', T.i32],
    ['k', T.i32],
    ['n', T.i32],
    ['next', T.i32],
  ]);
  f.local('p', T.i32);
  f.emit(op.block, op.loop);
  f.emit(f.get('next'), op.i32(1), op.i32AtomicRmwAdd(), f.tee('p'), f.get('count'), op.i32GeS, op.brIf(1));
  f.emit(f.get('table'), f.get('p'), op.i32(12), op.i32Mul, op.i32Add, f.set('p'));
  f.emit(f.get('p'), op.i32Load(0), f.get('lda'), f.get('p'), op.i32Load(4), f.get('p'), op.i32Load(8));
  f.emit(f.get('ldc'), f.get('m'), f.get('k'), f.get('n'), op.call(0), op.br(0), op.end, op.end);
  return f.def();
}

/** `gemmRows`' epilogue codes: activation in the low bits, and whether a bias is added. */
export const EPILOGUE = { linear: 0, relu: 1, relu6: 2, bias: 4 } as const;

/**
 * epilogue(c, ldc, m, n, bias, code): C[m x n] += bias (n floats at `bias`, where `code` has EPILOGUE.bias), then
 * ReLU or ReLU6 by `code`'s low bits; run on each chunk while it is still in cache. n a multiple of 4.
 */
function epilogueFunction(): FuncDef {
  const f = new Fn('epilogue', [
    ['c', T.i32],
    ['ldc', T.i32],
    ['m', T.i32],
    ['n', T.i32],
    ['bias', T.i32],
    ['code', T.i32],
  ]);
  for (const l of ['r', 'p', 'j', 'end', 'act', 'hasBias']) f.local(l, T.i32);
  f.local('v', T.v128);
  f.emit(
    f.get('code'),
    op.i32(3),
    op.i32And,
    f.set('act'),
    f.get('code'),
    op.i32(4),
    op.i32And,
    f.set('hasBias'),
  );
  f.emit(op.block, op.loop, f.get('r'), f.get('m'), op.i32GeS, op.brIf(1));
  f.emit(f.get('c'), f.get('ldc'), f.get('r'), op.i32Mul, op.i32Add, f.tee('p'));
  f.emit(f.get('n'), op.i32(2), op.i32Shl, op.i32Add, f.set('end'), op.i32(0), f.set('j'));
  f.emit(op.block, op.loop, f.get('p'), f.get('end'), op.i32GeS, op.brIf(1));
  f.emit(f.get('p'), op.v128Load(0), f.set('v'));
  f.emit(f.get('hasBias'), op.if_, f.get('v'), f.get('bias'), f.get('j'), op.i32Add, op.v128Load(0));
  f.emit(op.f32x4Add, f.set('v'), op.end);
  f.emit(f.get('act'), op.if_, f.get('v'), op.v128Zero, op.f32x4Pmax, f.set('v'), op.end);
  f.emit(
    f.get('act'),
    op.i32(2),
    op.i32Eq,
    op.if_,
    f.get('v'),
    op.f32(6),
    op.f32x4Splat,
    op.f32x4Pmin,
    f.set('v'),
  );
  f.emit(op.end, f.get('p'), f.get('v'), op.v128Store(0));
  f.emit(f.get('p'), op.i32(16), op.i32Add, f.set('p'), f.get('j'), op.i32(16), op.i32Add, f.set('j'));
  f.emit(op.br(0), op.end, op.end);
  f.emit(f.get('r'), op.i32(1), op.i32Add, f.set('r'), op.br(0), op.end, op.end);
  return f.def();
}

/** The parameters of gemmRows and gemmCols (and of `GemmRows`). */
const CHUNKED_PARAMS = ['a', 'lda', 'b', 'c', 'ldc', 'm', 'k', 'n', 'bias', 'code', 'next', 'chunk'].map(
  (name): [string, number] => [name, T.i32],
);

/**
 * gemmRows(a, lda, b, c, ldc, m, k, n, bias, code, next, chunk): C = epilogue(A · B) as `gemm` and `epilogue`, in
 * chunks of `chunk` rows taken by atomically incrementing the i32 at `next` (zero at the start), as gemmTable.
 */
function gemmRowsFunction(): FuncDef {
  const f = new Fn('gemmRows', CHUNKED_PARAMS);
  f.local('r0', T.i32);
  f.local('rows', T.i32);
  f.local('pc', T.i32);
  f.emit(op.block, op.loop);
  f.emit(f.get('next'), op.i32(1), op.i32AtomicRmwAdd(), f.get('chunk'), op.i32Mul, f.tee('r0'));
  f.emit(f.get('m'), op.i32GeS, op.brIf(1));
  // rows = min(chunk, m - r0)
  f.emit(f.get('m'), f.get('r0'), op.i32Sub, f.tee('rows'), f.get('chunk'), f.get('rows'), f.get('chunk'));
  f.emit(op.i32LtS, op.select, f.set('rows'));
  f.emit(f.get('c'), f.get('ldc'), f.get('r0'), op.i32Mul, op.i32Add, f.set('pc'));
  f.emit(f.get('a'), f.get('lda'), f.get('r0'), op.i32Mul, op.i32Add, f.get('lda'), f.get('b'));
  f.emit(f.get('pc'), f.get('ldc'), f.get('rows'), f.get('k'), f.get('n'), op.call(0));
  f.emit(
    f.get('code'),
    op.if_,
    f.get('pc'),
    f.get('ldc'),
    f.get('rows'),
    f.get('n'),
    f.get('bias'),
    f.get('code'),
  );
  f.emit(op.call(2), op.end, op.br(0), op.end, op.end);
  return f.def();
}

/**
 * gemmCols(a, lda, b, c, ldc, m, k, n, bias, code, next, chunk): as gemmRows, but the chunks are `chunk` column panels
 * (8 columns each) over all m rows. For a B too large for a core's cache (a strided convolution's [9·C, K] filter)
 * each thread then reads its panels of B once, where row chunks would each read all of B.
 */
function gemmColsFunction(): FuncDef {
  const f = new Fn('gemmCols', CHUNKED_PARAMS);
  f.local('p0', T.i32);
  f.local('j0', T.i32);
  f.local('cols', T.i32);
  f.emit(op.block, op.loop);
  f.emit(f.get('next'), op.i32(1), op.i32AtomicRmwAdd(), f.get('chunk'), op.i32Mul, f.tee('p0'));
  f.emit(op.i32(PANEL), op.i32Mul, f.tee('j0'), f.get('n'), op.i32GeS, op.brIf(1));
  // cols = min(chunk·8, n − j0)
  f.emit(f.get('n'), f.get('j0'), op.i32Sub, f.tee('cols'), f.get('chunk'), op.i32(PANEL), op.i32Mul);
  f.emit(f.get('cols'), f.get('chunk'), op.i32(PANEL), op.i32Mul, op.i32LtS, op.select, f.set('cols'));
  f.emit(
    f.get('a'),
    f.get('lda'),
    f.get('b'),
    f.get('p0'),
    f.get('k'),
    op.i32Mul,
    op.i32(4 * PANEL),
    op.i32Mul,
  );
  f.emit(
    op.i32Add,
    f.get('c'),
    f.get('j0'),
    op.i32(4),
    op.i32Mul,
    op.i32Add,
    f.get('ldc'),
    f.get('m'),
    f.get('k'),
  );
  f.emit(f.get('cols'), op.call(0));
  f.emit(
    f.get('code'),
    op.if_,
    f.get('c'),
    f.get('j0'),
    op.i32(4),
    op.i32Mul,
    op.i32Add,
    f.get('ldc'),
    f.get('m'),
  );
  f.emit(
    f.get('cols'),
    f.get('bias'),
    f.get('j0'),
    op.i32(4),
    op.i32Mul,
    op.i32Add,
    f.get('code'),
    op.call(2),
  );
  f.emit(op.end, op.br(0), op.end, op.end);
  return f.def();
}

/** B [k x n] (row-major) as `gemm` reads it: panels of 8 columns, each k x 8, the last zero-filled past n. */
export function packPanels(b: ArrayLike<number>, k: number, n: number): Float32Array {
  const panels = Math.ceil(n / PANEL);
  const out = new Float32Array(panels * k * PANEL);
  for (let p = 0; p < panels; p++) {
    const cols = Math.min(PANEL, n - p * PANEL);
    for (let kk = 0; kk < k; kk++) {
      const src = kk * n + p * PANEL;
      const dst = (p * k + kk) * PANEL;
      for (let j = 0; j < cols; j++) out[dst + j] = b[src + j];
    }
  }
  return out;
}

export type Gemm = (
  a: number,
  lda: number,
  b: number,
  c: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
) => void;
export type GemmTable = (
  table: number,
  count: number,
  lda: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  next: number,
) => void;
export type GemmRows = (
  a: number,
  lda: number,
  b: number,
  c: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  bias: number,
  code: number,
  next: number,
  chunk: number,
) => void;
export interface GemmFunctions {
  gemm: Gemm;
  gemmTable: GemmTable;
  gemmRows: GemmRows;
  gemmCols: GemmRows;
  /** The three for helper threads. */
  gemmTableThreaded: ThreadedFunction;
  gemmRowsThreaded: ThreadedFunction;
  gemmColsThreaded: ThreadedFunction;
}

const modules = new Map<string, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, Map<boolean, GemmFunctions>>();

/** The compiled module (fused multiply-add where the engine has relaxed SIMD unless `fma` is false); null without SIMD. */
export function gemmModule(shared: boolean, fma = hasRelaxedSimd()): WebAssembly.Module | null {
  const key = `${shared}:${fma}`;
  let module = modules.get(key);
  if (module === undefined) {
    const bytes = buildModule(
      [gemmFunction(fma), gemmTableFunction(), epilogueFunction(), gemmRowsFunction(), gemmColsFunction()],
      shared ? { shared, maxPages: 65536 } : { shared },
    );
    // 3.7 KB: under the 4 KB that browsers compile synchronously on the main thread; should it ever refuse, the
    // kernels fall back to the stock ones.
    try {
      module =
        typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      module = null;
    }
    modules.set(key, module);
  }
  return module;
}

/** The matrix products bound to `memory`; undefined where WebAssembly SIMD is unavailable. */
export function simdGemm(memory: WebAssembly.Memory, fma = hasRelaxedSimd()): GemmFunctions | undefined {
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  const module = gemmModule(shared, fma);
  if (module === null) return undefined;
  let byFma = instances.get(memory);
  if (byFma === undefined) {
    byFma = new Map();
    instances.set(memory, byFma);
  }
  let fns = byFma.get(fma);
  if (fns === undefined) {
    const e = new WebAssembly.Instance(module, { env: { mem: memory } }).exports as unknown as GemmFunctions;
    fns = {
      gemm: e.gemm,
      gemmTable: e.gemmTable,
      gemmRows: e.gemmRows,
      gemmCols: e.gemmCols,
      gemmTableThreaded: threadedFunction(module, 'gemmTable'),
      gemmRowsThreaded: threadedFunction(module, 'gemmRows'),
      gemmColsThreaded: threadedFunction(module, 'gemmCols'),
    };
    byFma.set(fma, fns);
  }
  return fns;
}

/**
 * The `count` products of `table` (see gemmTable; `next` a zeroed i32 on the heap), shared between the calling thread
 * and `threads`' helpers where given.
 */
export function runGemmTable(
  fns: GemmFunctions,
  threads: WasmThreads | undefined,
  ...args: Parameters<GemmTable>
): void {
  if (threads === undefined) fns.gemmTable(...args);
  else threads.run(fns.gemmTableThreaded, args, () => fns.gemmTable(...args));
}

/**
 * `gemmRows`, or `gemmCols` where `by` says so (`next` a zeroed i32 on the heap), shared between the calling thread and
 * `threads`' helpers.
 */
export function runGemmChunks(
  fns: GemmFunctions,
  threads: WasmThreads | undefined,
  by: 'rows' | 'cols',
  ...args: Parameters<GemmRows>
): void {
  const [run, threaded] =
    by === 'rows' ? [fns.gemmRows, fns.gemmRowsThreaded] : [fns.gemmCols, fns.gemmColsThreaded];
  if (threads === undefined) run(...args);
  else threads.run(threaded, args, () => run(...args));
}

/** B matrices above this split their work by column panels (see gemmCols). */
const COLUMN_SPLIT_BYTES = 512 << 10;

/**
 * C [m, n] = epilogue(A [m, k] · B), B packed, in chunks shared with the helper threads. A B larger than a core's share
 * of the cache (mixed3's 3x3 288 -> 384: 4 MB) is split by column panels, so that each thread reads its part of it
 * once; otherwise by rows. About eight chunks per thread either way, so that a helper that starts late still finds
 * work.
 */
export function runChunked(
  gemm: GemmFunctions,
  threads: WasmThreads | undefined,
  a: number,
  k: number,
  panels: number,
  c: number,
  m: number,
  n: number,
  bias: number,
  code: number,
  next: number,
): void {
  const threadCount = (threads?.helpers ?? 0) + 1;
  const panelCount = Math.ceil(n / PANEL);
  const byCols = k * n * 4 > COLUMN_SPLIT_BYTES && panelCount >= 4 * threadCount;
  const chunk = byCols
    ? Math.max(1, Math.floor(panelCount / (8 * threadCount)))
    : Math.max(16, Math.ceil(m / (8 * threadCount) / 4) * 4);
  const args = [a, k * 4, panels, c, n * 4, m, k, n, bias, code, next, chunk] as const;
  runGemmChunks(gemm, threads, byCols ? 'cols' : 'rows', ...args);
}
