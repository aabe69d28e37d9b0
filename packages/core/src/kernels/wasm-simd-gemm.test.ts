import { describe, expect, it } from 'vitest';
import { buildModule, Fn, hasRelaxedSimd, op, T } from '../wasm-asm.js';
import { EPILOGUE, gemmModule, packPanels, runGemmChunks, runGemmTable, simdGemm } from './wasm-simd-gemm.js';
import { threadedFunction, wasmThreads } from './wasm-threads.js';
import { randomArray, seeded } from './test-util.js';

const sharedMemory = () => new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });

/** C = A·B (+ bias, activation) in float64. */
function reference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  bias?: Float32Array,
  act = 0,
) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias?.[j] ?? 0;
      for (let q = 0; q < k; q++) s += a[i * k + q] * b[q * n + j];
      if (act >= 1) s = Math.max(s, 0);
      if (act === 2) s = Math.min(s, 6);
      c[i * n + j] = s;
    }
  }
  return c;
}

const maxDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
};

/** Lays A, packed B and a C with two sentinel columns per row (ldc = n + 2) out on `memory`; returns addresses. */
function layout(
  memory: WebAssembly.Memory,
  a: Float32Array,
  b: Float32Array,
  k: number,
  n: number,
  m: number,
) {
  const f32 = new Float32Array(memory.buffer);
  const aAt = 64;
  const bAt = aAt + 4 * a.length + 64;
  const packed = packPanels(b, k, n);
  const cAt = bAt + 4 * packed.length + 64;
  f32.set(a, aAt / 4);
  f32.set(packed, bAt / 4);
  f32.fill(-777, cAt / 4, cAt / 4 + m * (n + 2));
  const read = () => {
    const c = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      c.set(f32.subarray(cAt / 4 + i * (n + 2), cAt / 4 + i * (n + 2) + n), i * n);
      // Nothing written past the n columns.
      expect(f32[cAt / 4 + i * (n + 2) + n]).toBe(-777);
      expect(f32[cAt / 4 + i * (n + 2) + n + 1]).toBe(-777);
    }
    return c;
  };
  return { aAt, bAt, cAt, ldc: 4 * (n + 2), end: cAt + 4 * m * (n + 2), read };
}

// m: every remainder of the 4-row blocks; n: whole 8-column panels and tails of 1 to 7 columns; k down to 1.
const shapes: Array<[number, number, number]> = [
  [1, 1, 4],
  [5, 3, 1],
  [6, 9, 7],
  [9, 13, 113],
  [3, 5, 12],
  [6, 17, 8],
  [13, 16, 20],
  [33, 40, 36],
];

describe('wasm SIMD matrix product', () => {
  it('packs B into 8-column panels, the last zero-filled (by hand)', () => {
    // B = [[1, 2, 3, 4], [5, 6, 7, 8]] (k = 2, n = 4): one panel, rows of 8 with 4 zeros each.
    expect(Array.from(packPanels([1, 2, 3, 4, 5, 6, 7, 8], 2, 4))).toEqual([
      1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0,
    ]);
  });

  for (const fma of [false, true]) {
    it.each(shapes)(
      `multiplies ${fma ? 'with relaxed multiply-add' : 'with multiply and add'}: %i x %i x %i`,
      (m, k, n) => {
        if (fma && !hasRelaxedSimd()) return;
        const memory = sharedMemory();
        const fns = simdGemm(memory, fma);
        expect(fns).toBeDefined();
        const rng = seeded(m * 100 + k);
        const a = randomArray(m * k, rng);
        const b = randomArray(k * n, rng);
        const at = layout(memory, a, b, k, n, m);
        fns?.gemm(at.aAt, 4 * k, at.bAt, at.cAt, at.ldc, m, k, n);
        // float32 sums of k products of numbers below 1: a few ulps of k.
        expect(maxDiff(at.read(), reference(a, b, m, k, n))).toBeLessThan(1e-6 * (k + 1));
      },
    );
  }

  it.each([
    ['linear', EPILOGUE.linear],
    ['relu', EPILOGUE.relu],
    ['relu6', EPILOGUE.relu6],
  ] as const)(
    'adds bias and applies %s per chunk: gemmRows (8 rows), gemmCols (one 8-column panel)',
    (_, act) => {
      const memory = sharedMemory();
      const fns = simdGemm(memory);
      if (fns === undefined) throw new Error('no SIMD');
      const [m, k, n] = [37, 24, 20];
      const rng = seeded(11);
      const a = randomArray(m * k, rng, -3, 3);
      const b = randomArray(k * n, rng, -3, 3);
      const bias = randomArray(n, rng, -4, 4);
      for (const [withBias, by] of [
        [true, 'rows'],
        [false, 'rows'],
        [true, 'cols'],
        [false, 'cols'],
      ] as const) {
        const at = layout(memory, a, b, k, n, m);
        const i32 = new Int32Array(memory.buffer);
        const f32 = new Float32Array(memory.buffer);
        const biasAt = at.end + 64;
        const next = biasAt + 4 * n + 64;
        f32.set(bias, biasAt / 4);
        i32[next / 4] = 0;
        const code = act | (withBias ? EPILOGUE.bias : 0);
        const run = by === 'rows' ? fns.gemmRows : fns.gemmCols;
        run(
          at.aAt,
          4 * k,
          at.bAt,
          at.cAt,
          at.ldc,
          m,
          k,
          n,
          withBias ? biasAt : 0,
          code,
          next,
          by === 'rows' ? 8 : 1,
        );
        const want = reference(a, b, m, k, n, withBias ? bias : undefined, act);
        expect(maxDiff(at.read(), want)).toBeLessThan(1e-4);
        // 37 rows in chunks of 8: 5 chunks taken; 20 columns: 3 panels (the last 4 wide); and one more try each.
        expect(i32[next / 4]).toBe(by === 'rows' ? 6 : 4);
      }
    },
  );

  it('shares gemmTable, gemmRows and gemmCols with a helper thread: the same values as on one thread', () => {
    const memory = sharedMemory();
    const fns = simdGemm(memory);
    const threads = wasmThreads(memory, 2);
    if (fns === undefined || threads === undefined) throw new Error('no SIMD or no worker threads');
    expect(threads.helpers).toBe(1);
    const [m, k, n, count] = [50, 32, 24, 9];
    const rng = seeded(5);
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    // count products C_i = A_i B_i, laid out one after another.
    const aLen = m * k;
    const bLen = packPanels(new Float32Array(k * n), k, n).length;
    const base = 1024;
    const aAt = (i: number) => base + 4 * i * aLen;
    const bAt = (i: number) => aAt(count) + 4 * i * bLen;
    const cAt = (i: number, run: number) => bAt(count) + 4 * (run * count + i) * m * n;
    const table = cAt(0, 3);
    const as: Float32Array[] = [];
    const bs: Float32Array[] = [];
    for (let i = 0; i < count; i++) {
      as.push(randomArray(aLen, rng));
      bs.push(randomArray(k * n, rng));
      f32.set(as[i], aAt(i) / 4);
      f32.set(packPanels(bs[i], k, n), bAt(i) / 4);
    }
    const runTable = (run: number, pool: typeof threads | undefined) => {
      for (let i = 0; i < count; i++) i32.set([aAt(i), bAt(i), cAt(i, run)], table / 4 + 3 * i);
      i32[table / 4 + 3 * count] = 0;
      runGemmTable(fns, pool, table, count, 4 * k, 4 * n, m, k, n, table + 12 * count);
    };
    runTable(0, undefined);
    runTable(1, threads);
    for (let i = 0; i < count; i++) {
      const one = f32.slice(cAt(i, 0) / 4, cAt(i, 0) / 4 + m * n);
      const two = f32.slice(cAt(i, 1) / 4, cAt(i, 1) / 4 + m * n);
      expect(maxDiff(one, reference(as[i], bs[i], m, k, n))).toBeLessThan(1e-5);
      expect(two).toEqual(one);
    }
    // gemmRows: product 0 again, in chunks of 4 rows, with a ReLU.
    const next = table + 12 * count + 4;
    i32[next / 4] = 0;
    runGemmChunks(
      fns,
      threads,
      'rows',
      aAt(0),
      4 * k,
      bAt(0),
      cAt(0, 2),
      4 * n,
      m,
      k,
      n,
      0,
      EPILOGUE.relu,
      next,
      4,
    );
    const one = f32.slice(cAt(0, 0) / 4, cAt(0, 0) / 4 + m * n);
    expect(f32.slice(cAt(0, 2) / 4, cAt(0, 2) / 4 + m * n)).toEqual(one.map((v) => Math.max(v, 0)));
    // gemmCols: one panel per chunk.
    i32[next / 4] = 0;
    runGemmChunks(
      fns,
      threads,
      'cols',
      aAt(0),
      4 * k,
      bAt(0),
      cAt(1, 2),
      4 * n,
      m,
      k,
      n,
      0,
      EPILOGUE.relu,
      next,
      1,
    );
    expect(f32.slice(cAt(1, 2) / 4, cAt(1, 2) / 4 + m * n)).toEqual(one.map((v) => Math.max(v, 0)));
  });
});

describe('wasm helper threads', () => {
  /**
   * tag(next, out, count, tag): takes items by atomically incrementing `next` and writes `tag` into out[item];
   * flag(at): writes 1 at `at` and traps.
   */
  const module = () => {
    const tag = new Fn('tag', [
      ['next', T.i32],
      ['out', T.i32],
      ['count', T.i32],
      ['tag', T.i32],
    ]);
    tag.local('i', T.i32);
    tag.emit(op.block, op.loop, tag.get('next'), op.i32(1), op.i32AtomicRmwAdd(), tag.tee('i'));
    tag.emit(tag.get('count'), op.i32GeS, op.brIf(1), tag.get('out'), tag.get('i'), op.i32(2), op.i32Shl);
    tag.emit(op.i32Add, tag.get('tag'), op.i32Store(), op.br(0), op.end, op.end);
    const flag = new Fn('flagAndTrap', [['at', T.i32]]);
    flag.emit(flag.get('at'), op.i32(1), op.i32Store(), [0x00]);
    return new WebAssembly.Module(buildModule([tag.def(), flag.def()], { shared: true, maxPages: 65536 }));
  };

  /** Spins until the i32 at `at` is non-zero, for at most 5 s (a worker's start-up). */
  const waitFor = (i32: Int32Array, at: number) => {
    const end = Date.now() + 5000;
    while (Atomics.load(i32, at / 4) === 0 && Date.now() < end);
  };

  it('runs the posted call on a helper over the same memory while the caller runs its own share', () => {
    const memory = sharedMemory();
    const threads = wasmThreads(memory, 2);
    if (threads === undefined) throw new Error('no worker threads');
    const mod = module();
    const local = new WebAssembly.Instance(mod, { env: { mem: memory } }).exports as {
      tag: (...a: number[]) => void;
    };
    const i32 = new Int32Array(memory.buffer);
    const [next, out, count] = [64, 128, 20000];
    i32.fill(0, next / 4, out / 4 + count);
    threads.run(threadedFunction(mod, 'tag'), [next, out, count, 2], () => {
      // Let the helper start first, so that the test does not depend on the OS scheduling it in time.
      waitFor(i32, out);
      local.tag(next, out, count, 1);
    });
    const tags = i32.subarray(out / 4, out / 4 + count);
    // Every item taken exactly once, some by the helper.
    expect(tags.every((t) => t === 1 || t === 2)).toBe(true);
    expect(tags.includes(2)).toBe(true);
    expect(i32[next / 4]).toBe(count + 2);
  });

  it("reports a helper's trap as an error on the calling thread", () => {
    const memory = sharedMemory();
    const threads = wasmThreads(memory, 2);
    if (threads === undefined) throw new Error('no worker threads');
    const i32 = new Int32Array(memory.buffer);
    i32[16] = 0;
    expect(() =>
      threads.run(threadedFunction(module(), 'flagAndTrap'), [64], () => waitFor(i32, 64)),
    ).toThrow(/flagAndTrap trapped/);
  });

  it('falls back to one thread where a worker cannot start (a runtime without eval workers)', () => {
    const real = process.getBuiltinModule;
    const refusing = {
      Worker: class {
        constructor() {
          throw new Error('eval workers are not supported');
        }
      },
      MessageChannel,
    };
    process.getBuiltinModule = ((id: string) =>
      id === 'node:worker_threads' ? refusing : real(id)) as typeof process.getBuiltinModule;
    try {
      expect(wasmThreads(sharedMemory(), 2)).toBeUndefined();
    } finally {
      process.getBuiltinModule = real;
    }
  });

  it('is unavailable on a memory that is not shared, or for one thread', () => {
    expect(wasmThreads(new WebAssembly.Memory({ initial: 1 }), 2)).toBeUndefined();
    expect(wasmThreads(sharedMemory(), 1)).toBeUndefined();
    expect(gemmModule(false)).not.toBeNull();
  });
});
