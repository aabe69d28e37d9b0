import { buildModule, Fn, op, T, type Code, type FuncDef } from '../wasm-asm.js';
import { threadedFunction, type ThreadedFunction } from './wasm-threads.js';

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

/** The i32 fields of a `tiles` call's parameter block, in order (see tileLoopFunction). */
export const TILE_PARAMS = [
  'image',
  'h',
  'w',
  'chBytes',
  'top',
  'left',
  'tW',
  'perImage',
  't0',
  't1',
  'table',
  'scratch',
  'scratchBytes',
  'slots',
  'chunk',
  'bias',
] as const;

/**
 * inputTiles(params, next) / outputTiles_<act>(params, next): the transform of tiles t0 .. t1-1, in chunks of `chunk`
 * tiles taken by atomically incrementing the i32 at `next`, so that threads running the same call share them. The
 * parameters are i32s at `params` in TILE_PARAMS' order: the image (x, or the output) and its h, w and channel bytes;
 * the input's top and left padding; tiles per row and per image; the table of α² buffers; a scratch area of
 * `scratchBytes` per thread (a slot claimed from the i32 at `slots`); `bias` (output only).
 *
 * A tile inside the image is transformed in place. An input tile crossing the border is first copied into a zeroed
 * patch; an output tile past the bottom or right edge is computed whole into the scratch and its in-image part copied.
 */
function tileLoopFunction(kind: 'input' | WinogradActivation, m: number, a: number): FuncDef {
  const input = kind === 'input';
  const f = new Fn(input ? 'inputTiles' : `outputTiles_${kind}`, [
    ['params', T.i32],
    ['next', T.i32],
  ]);
  for (const name of TILE_PARAMS) f.local(name, T.i32);
  for (const l of [
    'scr',
    'ta',
    'tb',
    't',
    'b',
    'rem',
    'r0',
    'c0',
    'px',
    'i',
    'row',
    'lo',
    'hi',
    'rows',
    'cols',
  ])
    f.local(l, T.i32);
  TILE_PARAMS.forEach((name, i) => f.emit(f.get('params'), op.i32Load(4 * i), f.set(name)));
  const min = (x: Code, y: Code): Code => [...x, ...y, ...x, ...y, ...op.i32LtS, ...op.select];
  const max = (x: Code, y: Code): Code => [...x, ...y, ...x, ...y, ...op.i32GtS, ...op.select];
  const side = input ? a : m;
  f.emit(f.get('chBytes'), f.set('px'));
  // This thread's scratch slot.
  f.emit(f.get('slots'), op.i32(1), op.i32AtomicRmwAdd(), f.get('scratchBytes'), op.i32Mul, f.get('scratch'));
  f.emit(op.i32Add, f.set('scr'));
  f.emit(op.block, op.loop);
  // [ta, tb): the next chunk.
  f.emit(f.get('next'), op.i32(1), op.i32AtomicRmwAdd(), f.get('chunk'), op.i32Mul, f.get('t0'), op.i32Add);
  f.emit(f.tee('ta'), f.get('t1'), op.i32GeS, op.brIf(1));
  f.emit(min([...f.get('ta'), ...f.get('chunk'), ...op.i32Add], f.get('t1')), f.set('tb'));
  f.emit(f.get('ta'), f.set('t'));
  f.emit(op.block, op.loop, f.get('t'), f.get('tb'), op.i32GeS, op.brIf(1));
  f.emit(f.get('t'), f.get('perImage'), op.i32DivS, f.set('b'));
  f.emit(f.get('t'), f.get('perImage'), op.i32RemS, f.set('rem'));
  f.emit(f.get('rem'), f.get('tW'), op.i32DivS, op.i32(m), op.i32Mul, f.get('top'), op.i32Sub, f.set('r0'));
  f.emit(f.get('rem'), f.get('tW'), op.i32RemS, op.i32(m), op.i32Mul, f.get('left'), op.i32Sub, f.set('c0'));
  // rows, cols: how much of the side x side tile lies inside the image (from r0, c0 on; r0, c0 ≥ 0 for outputs).
  f.emit(min([...f.get('h'), ...f.get('r0'), ...op.i32Sub], op.i32(side)), f.set('rows'));
  f.emit(min([...f.get('w'), ...f.get('c0'), ...op.i32Sub], op.i32(side)), f.set('cols'));
  const at = (r: Code, c: Code): Code => [
    ...f.get('image'),
    ...f.get('b'),
    ...f.get('h'),
    ...op.i32Mul,
    ...r,
    ...op.i32Add,
    ...f.get('w'),
    ...op.i32Mul,
    ...c,
    ...op.i32Add,
    ...f.get('px'),
    ...op.i32Mul,
    ...op.i32Add,
  ];
  const tileOff = [...f.get('t'), ...f.get('t0'), ...op.i32Sub, ...f.get('px'), ...op.i32Mul];
  const whole = [
    ...f.get('r0'),
    ...op.i32(0),
    ...op.i32GeS,
    ...f.get('c0'),
    ...op.i32(0),
    ...op.i32GeS,
    ...op.i32And,
    ...f.get('rows'),
    ...op.i32(side),
    ...op.i32Eq,
    ...op.i32And,
    ...f.get('cols'),
    ...op.i32(side),
    ...op.i32Eq,
    ...op.i32And,
  ];
  const rowStride = (cols: Code) => [...cols, ...f.get('px'), ...op.i32Mul];
  const args = (dst: Code, cols: Code): Code => [
    ...dst,
    ...rowStride(cols),
    ...f.get('px'),
    ...f.get('px'),
    ...f.get('table'),
    ...tileOff,
    ...(input ? [] : f.get('bias')),
  ];
  const callee = input ? 0 : 1 + ACTS.indexOf(kind);
  f.emit(whole, op.if_, args(at(f.get('r0'), f.get('c0')), f.get('w')), op.call(callee), op.else_);
  if (input) {
    // Zeroed patch, then each in-image row's in-image part [lo, hi).
    f.emit(f.get('scr'), op.i32(0), op.i32(a * a), f.get('px'), op.i32Mul, op.memoryFill);
    f.emit(max(op.i32(0), [...op.i32(0), ...f.get('c0'), ...op.i32Sub]), f.set('lo'));
    f.emit(f.get('cols'), f.set('hi'));
    f.emit(op.i32(0), f.set('i'));
    f.emit(op.block, op.loop, f.get('i'), op.i32(a), op.i32GeS, op.brIf(1));
    f.emit(f.get('r0'), f.get('i'), op.i32Add, f.tee('row'), op.i32(0), op.i32GeS);
    f.emit(
      f.get('row'),
      f.get('h'),
      op.i32LtS,
      op.i32And,
      f.get('lo'),
      f.get('hi'),
      op.i32LtS,
      op.i32And,
      op.if_,
    );
    f.emit(
      f.get('scr'),
      f.get('i'),
      op.i32(a),
      op.i32Mul,
      f.get('lo'),
      op.i32Add,
      f.get('px'),
      op.i32Mul,
      op.i32Add,
    );
    f.emit(at(f.get('row'), [...f.get('c0'), ...f.get('lo'), ...op.i32Add]));
    f.emit(f.get('hi'), f.get('lo'), op.i32Sub, f.get('px'), op.i32Mul, op.memoryCopy, op.end);
    f.emit(f.get('i'), op.i32(1), op.i32Add, f.set('i'), op.br(0), op.end, op.end);
    f.emit(args(f.get('scr'), op.i32(a)), op.call(callee));
  } else {
    f.emit(args(f.get('scr'), op.i32(m)), op.call(callee));
    f.emit(op.i32(0), f.set('i'));
    f.emit(op.block, op.loop, f.get('i'), f.get('rows'), op.i32GeS, op.brIf(1));
    f.emit(at([...f.get('r0'), ...f.get('i'), ...op.i32Add], f.get('c0')));
    f.emit(f.get('scr'), f.get('i'), op.i32(m), op.i32Mul, f.get('px'), op.i32Mul, op.i32Add);
    f.emit(f.get('cols'), f.get('px'), op.i32Mul, op.memoryCopy);
    f.emit(f.get('i'), op.i32(1), op.i32Add, f.set('i'), op.br(0), op.end, op.end);
  }
  f.emit(op.end);
  f.emit(f.get('t'), op.i32(1), op.i32Add, f.set('t'), op.br(0), op.end, op.end);
  f.emit(op.br(0), op.end, op.end);
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

export type TileLoop = (params: number, next: number) => void;

export interface WinogradFunctions {
  inputTile: InputTile;
  outputTile: Record<WinogradActivation, OutputTile>;
  inputTiles: TileLoop;
  outputTiles: Record<WinogradActivation, TileLoop>;
  /** The tile loops for helper threads. */
  threaded: { inputTiles: ThreadedFunction; outputTiles: Record<WinogradActivation, ThreadedFunction> };
}

const ACTS: WinogradActivation[] = ['linear', 'relu', 'relu6'];
const bytesByKey = new Map<string, Uint8Array<ArrayBuffer> | null>();
const ready = new Map<WinogradKind, WeakMap<WebAssembly.Memory, WinogradFunctions | null | 'pending'>>();

/** The module's bytes for this kind and memory sharing; null where this engine cannot run them (no SIMD). */
function moduleBytes(kind: WinogradKind, shared: boolean): Uint8Array<ArrayBuffer> | null {
  const key = `${kind}:${shared}`;
  let bytes = bytesByKey.get(key);
  if (bytes === undefined) {
    const { m, BT, AT } = WINOGRAD[kind];
    const a = BT.length;
    const funcs = [
      inputTransformFunction(BT),
      ...ACTS.map((act) => outputTransformFunction(AT, act)),
      tileLoopFunction('input', m, a),
      ...ACTS.map((act) => tileLoopFunction(act, m, a)),
    ];
    bytes = buildModule(funcs, shared ? { shared, maxPages: 65536 } : { shared });
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) bytes = null;
    bytesByKey.set(key, bytes);
  }
  return bytes;
}

function bind(module: WebAssembly.Module, instance: WebAssembly.Instance): WinogradFunctions {
  const e = instance.exports as unknown as Record<string, (...args: number[]) => void>;
  const perAct = <T>(make: (act: WinogradActivation) => T) =>
    Object.fromEntries(ACTS.map((act) => [act, make(act)])) as Record<WinogradActivation, T>;
  return {
    inputTile: e.inputTile as InputTile,
    outputTile: perAct((act) => e[`outputTile_${act}`] as OutputTile),
    inputTiles: e.inputTiles as TileLoop,
    outputTiles: perAct((act) => e[`outputTiles_${act}`] as TileLoop),
    threaded: {
      inputTiles: threadedFunction(module, 'inputTiles'),
      outputTiles: perAct((act) => threadedFunction(module, `outputTiles_${act}`)),
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
    const module = new WebAssembly.Module(bytes);
    const fns = bind(module, new WebAssembly.Instance(module, imports));
    byMemory.set(memory, fns);
    return fns;
  } catch {
    const states = byMemory;
    states.set(memory, 'pending');
    WebAssembly.instantiate(bytes, imports).then(
      (r) => states.set(memory, bind(r.module, r.instance)),
      () => states.set(memory, null),
    );
    return undefined;
  }
}
