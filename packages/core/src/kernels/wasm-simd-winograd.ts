import { buildModule, Fn, op, T, type Code, type FuncDef } from '../wasm-asm.js';

/** F(m x m, r x r): output tile m, filter r; the input tile is m + r − 1 on a side. */
export type WinogradKind = '2x3' | '4x3' | '2x5';

// F(4,3) and F(2,5) share their 6 points 0, ±1, ±2, ∞, and so Bᵀ.
const BT6 = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
];

/**
 * Lavin & Gray 2015, "Fast Algorithms for Convolutional Neural Networks": y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, the
 * matrices from the Cook-Toom construction (wincnn's) on the points 0, ±1 (F(2,3)) or 0, ±1, ±2 (F(4,3), F(2,5)),
 * and ∞.
 */
export const WINOGRAD: Record<
  WinogradKind,
  { m: number; r: number; BT: number[][]; G: number[][]; AT: number[][] }
> = {
  '2x3': {
    m: 2,
    r: 3,
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    G: [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  '4x3': {
    m: 4,
    r: 3,
    BT: BT6,
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
  '2x5': {
    m: 2,
    r: 5,
    BT: BT6,
    G: [
      [1 / 4, 0, 0, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6, 1 / 3, 2 / 3],
      [1 / 24, -1 / 12, 1 / 6, -1 / 3, 2 / 3],
      [0, 0, 0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 1],
    ],
  },
};

export type WinogradActivation = 'linear' | 'relu' | 'relu6';

/** Emits `Σ_k coef[k]·x_k` on v128 values (±1 as add/sub, other coefficients times a splat constant). */
function linearCombination(coef: number[], x: (k: number) => Code, konst: (c: number) => Code): Code {
  const terms = coef.map((c, k) => ({ c, k })).filter((t) => t.c !== 0);
  // Start from a positive term where there is one: no negation needed.
  terms.sort((a, b) => Number(b.c > 0) - Number(a.c > 0));
  const code: Code = [];
  terms.forEach(({ c, k }, i) => {
    const a = Math.abs(c);
    code.push(...x(k));
    if (a !== 1) code.push(...konst(a), ...op.f32x4Mul);
    if (i === 0) {
      if (c < 0) code.push(...op.f32x4Neg);
    } else code.push(...(c > 0 ? op.f32x4Add : op.f32x4Sub));
  });
  if (terms.length === 0) code.push(...op.v128Zero);
  return code;
}

/** Declares one v128 local per distinct coefficient magnitude ≠ 1 of the matrix and returns its getter. */
function constants(f: Fn, matrix: number[][], prefix: string): { init: Code; get: (c: number) => Code } {
  const values = [...new Set(matrix.flat().map(Math.abs))].filter((v) => v !== 0 && v !== 1);
  const init: Code = [];
  values.forEach((v, i) => {
    f.local(`${prefix}${i}`, T.v128);
    init.push(...op.f32(v), ...op.f32x4Splat, ...f.set(`${prefix}${i}`));
  });
  return { init, get: (c) => f.get(`${prefix}${values.indexOf(c)}`) };
}

/**
 * Z = M X Mᵀ for an n x n tile X of v128 locals `${x}${i}_${j}` into `${z}${r}_${c}` (M is r x n), via `${t}`.
 */
function sandwich(f: Fn, M: number[][], x: string, t: string, z: string, konst: (c: number) => Code): Code {
  const rows = M.length;
  const n = M[0].length;
  const code: Code = [];
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      code.push(...linearCombination(M[r], (i) => f.get(`${x}${i}_${j}`), konst), ...f.set(`${t}${r}_${j}`));
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < rows; c++) {
      code.push(...linearCombination(M[c], (j) => f.get(`${t}${r}_${j}`), konst), ...f.set(`${z}${r}_${c}`));
    }
  }
  return code;
}

function tileLocals(f: Fn, name: string, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) f.local(`${name}${i}_${j}`, T.v128);
}

/**
 * Locals and set-up shared by both transforms: `g` (channel byte offset, 0 on exit), `row`, the α² product-buffer
 * addresses `p${ξ}` (the i32s at `table`, plus `tileOff`) and the pixel offsets `c${j}` = j·pixStride for j < n.
 */
function tableAndOffsets(f: Fn, a: number, n: number): Code {
  f.local('g', T.i32);
  f.local('row', T.i32);
  for (let x = 0; x < a * a; x++) f.local(`p${x}`, T.i32);
  for (let j = 0; j < n; j++) f.local(`c${j}`, T.i32);
  const code: Code = [];
  for (let x = 0; x < a * a; x++) {
    code.push(...f.get('table'), ...op.i32Load(4 * x), ...f.get('tileOff'), ...op.i32Add, ...f.set(`p${x}`));
  }
  for (let j = 0; j < n; j++) code.push(...f.get('pixStride'), ...op.i32(j), ...op.i32Mul, ...f.set(`c${j}`));
  code.push(...op.i32(0), ...f.set('g'));
  return code;
}

/**
 * Input transform of one tile, all channels: V_ξ[tile] = (Bᵀ d B)_ξ for the α x α patch d at `src` (row stride
 * `rowStride` bytes, pixel stride `pixStride` bytes), four channels at a time over `cBytes` = 4·C bytes; V_ξ's base
 * address is the i32 at `table + 4ξ`, and the tile's channels start `tileOff` bytes into it.
 */
function inputTransformFunction(BT: number[][]): FuncDef {
  const a = BT.length;
  const f = new Fn('inputTile', [
    ['src', T.i32],
    ['rowStride', T.i32],
    ['pixStride', T.i32],
    ['cBytes', T.i32],
    ['table', T.i32],
    ['tileOff', T.i32],
  ]);
  const prologue = tableAndOffsets(f, a, a);
  tileLocals(f, 'd', a, a);
  tileLocals(f, 't', a, a);
  tileLocals(f, 'v', a, a);
  const k = constants(f, BT, 'k');
  f.emit(k.init, prologue);
  f.emit(op.block, op.loop, f.get('g'), f.get('cBytes'), op.i32GeS, op.brIf(1));
  for (let i = 0; i < a; i++) {
    f.emit(
      f.get('src'),
      f.get('g'),
      op.i32Add,
      f.get('rowStride'),
      op.i32(i),
      op.i32Mul,
      op.i32Add,
      f.set('row'),
    );
    for (let j = 0; j < a; j++) {
      f.emit(
        f.get('row'),
        j === 0 ? [] : [...f.get(`c${j}`), ...op.i32Add],
        op.v128Load(),
        f.set(`d${i}_${j}`),
      );
    }
  }
  f.emit(sandwich(f, BT, 'd', 't', 'v', k.get));
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < a; j++) {
      f.emit(f.get(`p${i * a + j}`), f.get('g'), op.i32Add, f.get(`v${i}_${j}`), op.v128Store());
    }
  }
  f.emit(f.get('g'), op.i32(16), op.i32Add, f.set('g'), op.br(0), op.end, op.end);
  return f.def();
}

/**
 * Output transform of one tile, all channels: y = act(Aᵀ M A + bias) for the m x m output tile at `dst` (strides in
 * bytes), M_ξ read from the i32 addresses at `table + 4ξ` plus `tileOff`, bias at `bias` (K floats), `kBytes` = 4·K.
 */
function outputTransformFunction(AT: number[][], act: WinogradActivation): FuncDef {
  const m = AT.length;
  const a = AT[0].length;
  const f = new Fn(`outputTile_${act}`, [
    ['dst', T.i32],
    ['rowStride', T.i32],
    ['pixStride', T.i32],
    ['kBytes', T.i32],
    ['table', T.i32],
    ['tileOff', T.i32],
    ['bias', T.i32],
  ]);
  const prologue = tableAndOffsets(f, a, m);
  f.local('b', T.v128);
  f.local('zero', T.v128);
  f.local('six', T.v128);
  tileLocals(f, 'mm', a, a);
  tileLocals(f, 't', m, a);
  tileLocals(f, 'y', m, m);
  const k = constants(f, AT, 'k');
  f.emit(k.init, op.v128Zero, f.set('zero'), op.f32(6), op.f32x4Splat, f.set('six'), prologue);
  f.emit(op.block, op.loop, f.get('g'), f.get('kBytes'), op.i32GeS, op.brIf(1));
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < a; j++) {
      f.emit(f.get(`p${i * a + j}`), f.get('g'), op.i32Add, op.v128Load(), f.set(`mm${i}_${j}`));
    }
  }
  f.emit(sandwich(f, AT, 'mm', 't', 'y', k.get));
  f.emit(f.get('bias'), f.get('g'), op.i32Add, op.v128Load(), f.set('b'));
  for (let i = 0; i < m; i++) {
    f.emit(
      f.get('dst'),
      f.get('g'),
      op.i32Add,
      f.get('rowStride'),
      op.i32(i),
      op.i32Mul,
      op.i32Add,
      f.set('row'),
    );
    for (let j = 0; j < m; j++) {
      f.emit(f.get('row'), j === 0 ? [] : [...f.get(`c${j}`), ...op.i32Add]);
      f.emit(f.get(`y${i}_${j}`), f.get('b'), op.f32x4Add);
      // relu: pmax(y, 0) = y < 0 ? 0 : y (XNNPACK's clamp); relu6 then pmin(., 6).
      if (act !== 'linear') f.emit(f.get('zero'), op.f32x4Pmax);
      if (act === 'relu6') f.emit(f.get('six'), op.f32x4Pmin);
      f.emit(op.v128Store());
    }
  }
  f.emit(f.get('g'), op.i32(16), op.i32Add, f.set('g'), op.br(0), op.end, op.end);
  return f.def();
}

export type InputTile = (
  src: number,
  rowStride: number,
  pixStride: number,
  cBytes: number,
  table: number,
  tileOff: number,
) => void;

export type OutputTile = (
  dst: number,
  rowStride: number,
  pixStride: number,
  kBytes: number,
  table: number,
  tileOff: number,
  bias: number,
) => void;

export interface WinogradFunctions {
  inputTile: InputTile;
  outputTile: Record<WinogradActivation, OutputTile>;
}

const ACTS: WinogradActivation[] = ['linear', 'relu', 'relu6'];
const bytesByKey = new Map<string, Uint8Array<ArrayBuffer> | null>();
const ready = new Map<WinogradKind, WeakMap<WebAssembly.Memory, WinogradFunctions | null | 'pending'>>();

/** The module's bytes for this kind and memory sharing; null where this engine cannot run them (no SIMD). */
function moduleBytes(kind: WinogradKind, shared: boolean): Uint8Array<ArrayBuffer> | null {
  const key = `${kind}:${shared}`;
  let bytes = bytesByKey.get(key);
  if (bytes === undefined) {
    const { BT, AT } = WINOGRAD[kind];
    const funcs = [inputTransformFunction(BT), ...ACTS.map((act) => outputTransformFunction(AT, act))];
    bytes = buildModule(funcs, shared ? { shared, maxPages: 65536 } : { shared });
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) bytes = null;
    bytesByKey.set(key, bytes);
  }
  return bytes;
}

function bind(instance: WebAssembly.Instance): WinogradFunctions {
  const e = instance.exports as unknown as Record<string, (...args: number[]) => void>;
  return {
    inputTile: e.inputTile as InputTile,
    outputTile: {
      linear: e.outputTile_linear as OutputTile,
      relu: e.outputTile_relu as OutputTile,
      relu6: e.outputTile_relu6 as OutputTile,
    },
  };
}

/**
 * The transforms of `kind` bound to `memory`; undefined where WebAssembly SIMD is unavailable, or while they compile.
 *
 * Browsers refuse to compile or instantiate a module over 4 KB synchronously on the main thread (F(4,3)'s is 11 KB):
 * there it is compiled in the background on first use, and the caller uses the stock kernel until it is ready.
 */
export function simdWinograd(memory: WebAssembly.Memory, kind: WinogradKind): WinogradFunctions | undefined {
  let byMemory = ready.get(kind);
  if (byMemory === undefined) {
    byMemory = new WeakMap();
    ready.set(kind, byMemory);
  }
  const state = byMemory.get(memory);
  if (state !== undefined) return state === 'pending' || state === null ? undefined : state;
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = moduleBytes(kind, shared);
  if (bytes === null) {
    byMemory.set(memory, null);
    return undefined;
  }
  const imports = { env: { mem: memory } };
  try {
    const fns = bind(new WebAssembly.Instance(new WebAssembly.Module(bytes), imports));
    byMemory.set(memory, fns);
    return fns;
  } catch {
    const states = byMemory;
    states.set(memory, 'pending');
    WebAssembly.instantiate(bytes, imports).then(
      (r) => states.set(memory, bind(r.instance)),
      () => states.set(memory, null),
    );
    return undefined;
  }
}
