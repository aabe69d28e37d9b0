import {
  buildWasmModule as buildModule,
  hasWasmSimd,
  WasmFunction as Fn,
  type WasmFuncDef as FuncDef,
  wasmOp as op,
  wasmTypes as T,
} from '@cnnviz/core';

/**
 * The 2-D Barnes–Hut inner loops in WebAssembly SIMD (f64x2): the repulsion walk and the
 * attraction over P's rows. They do the very operations of `walkRange` (tsne-gradient.ts) in
 * the same order, on lanes (point 0, point 2) and (point 1, point 3) of a group of four, so the
 * result is bit-identical to the plain-JS walk; the attraction is per row over the full
 * (symmetric) CSR, so rows can be split between threads without write conflicts.
 */

/**
 * `walk2d(node, next, size, sy, idx, neg, sumQ, s0, s1, theta2)`: see `walkRange`, D = 2, groups
 * of `G` points (a multiple of 4) sharing one walk. Within each 4, lanes pair points (0, 2) and
 * (1, 3), so one division serves points 0 and 1 (and 2 and 3) exactly as in the JS walk.
 */
function walk2d(G: number): FuncDef {
  const i32 = T.i32;
  const f = new Fn('walk2d', [
    ['node', i32],
    ['next', i32],
    ['size', i32],
    ['sy', i32],
    ['idx', i32],
    ['neg', i32],
    ['sumQ', i32],
    ['s0', i32],
    ['s1', i32],
    ['theta2', T.f64],
  ]);
  const Q4 = G / 4;
  const pts = Array.from({ length: G }, (_, k) => k);
  for (const n of ['g0', 'm', 'id', 'o', 'i', 'p']) f.local(n, i32);
  for (const n of ['w2', 'cx', 'cy']) f.local(n, T.f64);
  for (const k of pts) f.local(`P${k}`, T.v128);
  // Pair names: for quad u, "ua" = lanes (4u, 4u + 2) and "ub" = lanes (4u + 1, 4u + 3).
  const pairs: string[] = [];
  for (let u = 0; u < Q4; u++) pairs.push(`${u}a`, `${u}b`);
  for (const s of pairs)
    for (const v of ['X', 'Y', 'FX', 'FY', 'Q', 'DX', 'DY', 'A', 'K', 'C', 'M']) f.local(`${v}${s}`, T.v128);
  for (const n of ['R', 'CX', 'CY', 'CNT', 'ONE', 'LO', 'HI', 'C', 'E', 'ZERO']) f.local(n, T.v128);
  const { get, set, emit } = { get: f.get.bind(f), set: f.set.bind(f), emit: f.emit.bind(f) };
  const lanesOf = (a: number, b: number): number[] => [
    ...Array.from({ length: 8 }, (_, i) => a * 8 + i),
    ...Array.from({ length: 8 }, (_, i) => 16 + b * 8 + i),
  ];
  emit(op.f64(1), op.f64x2Splat, set('ONE'));
  emit(op.v128Zero, set('ZERO'));
  emit(get('s0'), set('g0'));
  emit(op.block, op.loop);
  emit(get('g0'), get('s1'), op.i32GeS, op.brIf(1));
  // m = min(G, s1 - g0); short groups repeat their last point (computed, then dropped).
  emit(
    op.i32(G),
    get('s1'),
    get('g0'),
    op.i32Sub,
    op.i32(G),
    get('s1'),
    get('g0'),
    op.i32Sub,
    op.i32LtS,
    op.select,
    set('m'),
  );
  for (const k of pts) {
    // P_k = (x, y) of sorted point g0 + min(k, m - 1)
    emit(
      get('g0'),
      op.i32(k),
      get('m'),
      op.i32(1),
      op.i32Sub,
      op.i32(k),
      get('m'),
      op.i32(1),
      op.i32Sub,
      op.i32LtS,
    );
    emit(op.select, op.i32Add, op.i32(4), op.i32Shl, get('sy'), op.i32Add, op.v128Load(0), set(`P${k}`));
  }
  // Bounding box of the group: LO = (min x, min y), HI = (max x, max y).
  for (const [fn, out] of [
    [op.f64x2Pmin, 'LO'],
    [op.f64x2Pmax, 'HI'],
  ] as const) {
    emit(get('P0'));
    for (const k of pts.slice(1)) emit(get(`P${k}`), fn);
    emit(set(out));
  }
  for (let u = 0; u < Q4; u++) {
    const b = 4 * u;
    for (const [s, p0, p1] of [
      [`${u}a`, b, b + 2],
      [`${u}b`, b + 1, b + 3],
    ] as const) {
      emit(get(`P${p0}`), get(`P${p1}`), op.shuffle(lanesOf(0, 0)), set(`X${s}`));
      emit(get(`P${p0}`), get(`P${p1}`), op.shuffle(lanesOf(1, 1)), set(`Y${s}`));
      for (const v of ['FX', 'FY', 'Q']) emit(op.v128Zero, set(`${v}${s}`));
    }
  }
  emit(op.i32(0), set('id'));
  emit(op.block, op.loop);
  emit(get('id'), get('size'), op.i32GeS, op.brIf(1));
  emit(get('id'), op.i32(5), op.i32Shl, get('node'), op.i32Add, set('o'));
  emit(get('o'), op.v128Load(0), set('C'), get('o'), op.f64Load(24), set('w2'));
  // (ex, ey): how far the centre of mass lies outside the box, per axis (0 inside); pmax picks
  // one of bx0 - cx, cx - bx1, 0 exactly, as the JS walk's branches do.
  emit(
    get('LO'),
    get('C'),
    op.f64x2Sub,
    get('C'),
    get('HI'),
    op.f64x2Sub,
    op.f64x2Pmax,
    get('ZERO'),
    op.f64x2Pmax,
  );
  emit(op.tee(f.idx('E')), get('E'), op.f64x2Mul, set('E'));
  // w2 < theta2 * (ex * ex + ey * ey) || w2 === 0
  emit(
    get('w2'),
    get('theta2'),
    get('E'),
    op.f64x2Extract(0),
    get('E'),
    op.f64x2Extract(1),
    op.f64Add,
    op.f64Mul,
    op.f64Lt,
  );
  emit(get('w2'), op.f64(0), op.f64Eq, op.i32Or, op.if_);
  {
    emit(get('o'), op.v128Load64Splat(16), set('CNT'));
    emit(get('o'), op.v128Load64Splat(0), set('CX'), get('o'), op.v128Load64Splat(8), set('CY'));
    for (const s of pairs) {
      emit(
        get(`X${s}`),
        get('CX'),
        op.f64x2Sub,
        set(`DX${s}`),
        get(`Y${s}`),
        get('CY'),
        op.f64x2Sub,
        set(`DY${s}`),
      );
      // a = 1 + dx * dx + dy * dy, left to right as in JS.
      emit(get('ONE'), get(`DX${s}`), get(`DX${s}`), op.f64x2Mul, op.f64x2Add);
      emit(get(`DY${s}`), get(`DY${s}`), op.f64x2Mul, op.f64x2Add, set(`A${s}`));
    }
    for (let u = 0; u < Q4; u++) {
      // r = 1 / (a0 a1), 1 / (a2 a3); k0 = a1 r01, k1 = a0 r01, ...
      emit(get('ONE'), get(`A${u}a`), get(`A${u}b`), op.f64x2Mul, op.f64x2Div, set('R'));
      emit(get(`A${u}b`), get('R'), op.f64x2Mul, set(`K${u}a`));
      emit(get(`A${u}a`), get('R'), op.f64x2Mul, set(`K${u}b`));
    }
    for (const s of pairs) {
      emit(get('CNT'), get(`K${s}`), op.f64x2Mul, set(`C${s}`));
      emit(get(`Q${s}`), get(`C${s}`), op.f64x2Add, set(`Q${s}`));
      emit(get(`C${s}`), get(`K${s}`), op.f64x2Mul, set(`M${s}`));
      emit(get(`FX${s}`), get(`M${s}`), get(`DX${s}`), op.f64x2Mul, op.f64x2Add, set(`FX${s}`));
      emit(get(`FY${s}`), get(`M${s}`), get(`DY${s}`), op.f64x2Mul, op.f64x2Add, set(`FY${s}`));
    }
    emit(get('id'), op.i32(2), op.i32Shl, get('next'), op.i32Add, op.i32Load(0), set('id'));
  }
  emit(op.else_);
  emit(get('id'), op.i32(1), op.i32Add, set('id'));
  emit(op.end);
  emit(op.br(0), op.end, op.end);
  // Stores: member k of the group, when k < m.
  for (const k of pts) {
    const u = k >> 2;
    const s = `${u}${k & 1 ? 'b' : 'a'}`;
    const lane = (k & 2) >> 1;
    if (k > 0) emit(get('m'), op.i32(k), op.i32GtS, op.if_);
    emit(
      get('g0'),
      op.i32(k),
      op.i32Add,
      op.i32(2),
      op.i32Shl,
      get('idx'),
      op.i32Add,
      op.i32Load(0),
      set('i'),
    );
    emit(get('i'), op.i32(4), op.i32Shl, get('neg'), op.i32Add, set('o'));
    emit(get('o'), get(`FX${s}`), op.f64x2Extract(lane), op.f64Store(0));
    emit(get('o'), get(`FY${s}`), op.f64x2Extract(lane), op.f64Store(8));
    emit(get('g0'), op.i32(k), op.i32Add, op.i32(3), op.i32Shl, get('sumQ'), op.i32Add);
    emit(get(`Q${s}`), op.f64x2Extract(lane), op.f64(1), op.f64Sub, op.f64Store(0));
    if (k > 0) emit(op.end);
  }
  emit(get('g0'), op.i32(G), op.i32Add, set('g0'), op.br(0));
  emit(op.end, op.end);
  return f.def();
}

/**
 * `attract2d(y, rowPtr, cols, vals, out, i0, i1)`: for rows i in [i0, i1) of the full symmetric
 * CSR, out[i] = sum_t vals[t] (y_i - y_j) / (1 + |y_i - y_j|^2). Two entries per step share one
 * division and feed two running sums (even and odd entries), added at the end of the row.
 */
function attract2d(): FuncDef {
  const i32 = T.i32;
  const f = new Fn('attract2d', [
    ['y', i32],
    ['rowPtr', i32],
    ['cols', i32],
    ['vals', i32],
    ['out', i32],
    ['i0', i32],
    ['i1', i32],
  ]);
  for (const n of ['i', 't', 'end', 'p']) f.local(n, i32);
  for (const n of ['YI', 'D0', 'D1', 'S0', 'S1', 'W', 'ACC0', 'ACC1', 'ONE']) f.local(n, T.v128);
  const { get, set, emit } = { get: f.get.bind(f), set: f.set.bind(f), emit: f.emit.bind(f) };
  const lanes = (a: number, b: number): number[] => [
    ...Array.from({ length: 8 }, (_, i) => a * 8 + i),
    ...Array.from({ length: 8 }, (_, i) => 16 + b * 8 + i),
  ];
  // D = y_i - y_cols[t + k]
  const diff = (k: number, out: string): void => {
    emit(get('YI'), get('t'), op.i32(2), op.i32Shl, get('cols'), op.i32Add, op.i32Load(4 * k));
    emit(op.i32(4), op.i32Shl, get('y'), op.i32Add, op.v128Load(0), op.f64x2Sub, set(out));
  };
  emit(op.f64(1), op.f64x2Splat, set('ONE'));
  emit(get('i0'), set('i'));
  emit(op.block, op.loop);
  emit(get('i'), get('i1'), op.i32GeS, op.brIf(1));
  emit(get('i'), op.i32(4), op.i32Shl, get('y'), op.i32Add, op.v128Load(0), set('YI'));
  emit(op.v128Zero, set('ACC0'), op.v128Zero, set('ACC1'));
  emit(get('i'), op.i32(2), op.i32Shl, get('rowPtr'), op.i32Add, set('p'));
  emit(get('p'), op.i32Load(0), set('t'), get('p'), op.i32Load(4), set('end'));
  // Pairs of entries.
  emit(op.block, op.loop);
  emit(get('t'), op.i32(1), op.i32Add, get('end'), op.i32GeS, op.brIf(1));
  diff(0, 'D0');
  diff(1, 'D1');
  emit(get('D0'), get('D0'), op.f64x2Mul, set('S0'), get('D1'), get('D1'), op.f64x2Mul, set('S1'));
  // (d2_0, d2_1) = (S0.x + S0.y, S1.x + S1.y); W = (vals[t], vals[t + 1]) / (1 + d2)
  emit(get('t'), op.i32(3), op.i32Shl, get('vals'), op.i32Add, op.v128Load(0));
  emit(
    get('ONE'),
    get('S0'),
    get('S1'),
    op.shuffle(lanes(0, 0)),
    get('S0'),
    get('S1'),
    op.shuffle(lanes(1, 1)),
  );
  emit(op.f64x2Add, op.f64x2Add, op.f64x2Div, set('W'));
  emit(
    get('ACC0'),
    get('W'),
    get('W'),
    op.shuffle(lanes(0, 0)),
    get('D0'),
    op.f64x2Mul,
    op.f64x2Add,
    set('ACC0'),
  );
  emit(
    get('ACC1'),
    get('W'),
    get('W'),
    op.shuffle(lanes(1, 1)),
    get('D1'),
    op.f64x2Mul,
    op.f64x2Add,
    set('ACC1'),
  );
  emit(get('t'), op.i32(2), op.i32Add, set('t'), op.br(0));
  emit(op.end, op.end);
  // An odd last entry.
  emit(get('t'), get('end'), op.i32LtS, op.if_);
  diff(0, 'D0');
  emit(get('D0'), get('D0'), op.f64x2Mul, set('S0'));
  emit(get('t'), op.i32(3), op.i32Shl, get('vals'), op.i32Add, op.v128Load64Splat(0));
  emit(
    get('ONE'),
    get('S0'),
    get('S0'),
    get('S0'),
    op.shuffle(lanes(1, 0)),
    op.f64x2Add,
    op.f64x2Add,
    op.f64x2Div,
    set('W'),
  );
  emit(get('ACC0'), get('W'), get('D0'), op.f64x2Mul, op.f64x2Add, set('ACC0'));
  emit(op.end);
  emit(
    get('i'),
    op.i32(4),
    op.i32Shl,
    get('out'),
    op.i32Add,
    get('ACC0'),
    get('ACC1'),
    op.f64x2Add,
    op.v128Store(0),
  );
  emit(get('i'), op.i32(1), op.i32Add, set('i'), op.br(0));
  emit(op.end, op.end);
  return f.def();
}

/** Points sharing one walk of the tree (see `walkRange`). */
export const WALK_GROUP = Number(globalThis.process?.env?.WALK_GROUP ?? 4);

const modules = new Map<boolean, WebAssembly.Module | null>();

/** The compiled t-SNE kernels for a shared or a private memory, or null without WebAssembly SIMD. */
export function tsneModule(shared: boolean): WebAssembly.Module | null {
  if (!modules.has(shared)) {
    let mod: WebAssembly.Module | null = null;
    try {
      if (hasWasmSimd())
        mod = new WebAssembly.Module(
          buildModule([walk2d(WALK_GROUP), attract2d()], { shared, maxPages: 65536 }),
        );
    } catch {
      // An engine without some instruction used here (or without shared memory): plain JS then.
      mod = null;
    }
    modules.set(shared, mod);
  }
  return modules.get(shared)!;
}

export interface TsneKernels {
  walk2d(
    node: number,
    next: number,
    size: number,
    sy: number,
    idx: number,
    neg: number,
    sumQ: number,
    s0: number,
    s1: number,
    theta2: number,
  ): void;
  attract2d(y: number, rowPtr: number, cols: number, vals: number, out: number, i0: number, i1: number): void;
}

export function instantiateTsne(module: WebAssembly.Module, memory: WebAssembly.Memory): TsneKernels {
  return new WebAssembly.Instance(module, { env: { mem: memory } }).exports as unknown as TsneKernels;
}
