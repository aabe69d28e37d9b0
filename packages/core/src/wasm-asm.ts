/**
 * A tiny WebAssembly binary writer: just enough to emit the few SIMD kernels of this package at
 * run time (no build step, no .wasm file to ship or locate). Functions are byte arrays built with
 * the helpers below; `buildModule` wraps them in a module that imports one memory `env.mem`.
 */

export type Code = number[];

/** Value types. */
export const T = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;

export function uleb(v: number): Code {
  const out: Code = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function sleb(v: number): Code {
  const out: Code = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const simd = (op: number, ...imm: number[]): Code => [0xfd, ...uleb(op), ...imm];
const memarg = (align: number, offset: number): Code => [align, ...uleb(offset)];

/** Instructions (stack machine); names follow the text format. */
export const op = {
  get: (i: number): Code => [0x20, ...uleb(i)],
  set: (i: number): Code => [0x21, ...uleb(i)],
  tee: (i: number): Code => [0x22, ...uleb(i)],
  i32: (v: number): Code => [0x41, ...sleb(v | 0)],
  f64: (v: number): Code => {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return [0x44, ...b];
  },
  f32: (v: number): Code => {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return [0x43, ...b];
  },
  block: [0x02, 0x40] as Code,
  loop: [0x03, 0x40] as Code,
  if_: [0x04, 0x40] as Code,
  else_: [0x05] as Code,
  end: [0x0b] as Code,
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Code => [0x0d, ...uleb(depth)],
  ret: [0x0f] as Code,
  /** Calls function `i` of the module (its index in `buildModule`'s list). */
  call: (i: number): Code => [0x10, ...uleb(i)],
  drop: [0x1a] as Code,
  select: [0x1b] as Code,
  i32Load: (offset = 0): Code => [0x28, ...memarg(2, offset)],
  f32Load: (offset = 0): Code => [0x2a, ...memarg(2, offset)],
  f64Load: (offset = 0): Code => [0x2b, ...memarg(3, offset)],
  i32Store: (offset = 0): Code => [0x36, ...memarg(2, offset)],
  /** Atomically adds to the i32 at the address and leaves its old value (threads proposal). */
  i32AtomicRmwAdd: (offset = 0): Code => [0xfe, 0x1e, ...memarg(2, offset)],
  f32Store: (offset = 0): Code => [0x38, ...memarg(2, offset)],
  f64Store: (offset = 0): Code => [0x39, ...memarg(3, offset)],
  i32Eqz: [0x45] as Code,
  i32Eq: [0x46] as Code,
  i32Ne: [0x47] as Code,
  i32LtS: [0x48] as Code,
  i32GtS: [0x4a] as Code,
  i32LeS: [0x4c] as Code,
  i32GeS: [0x4e] as Code,
  f64Eq: [0x61] as Code,
  f64Lt: [0x63] as Code,
  f64Gt: [0x64] as Code,
  f64Le: [0x65] as Code,
  f64Ge: [0x66] as Code,
  i32Add: [0x6a] as Code,
  i32Sub: [0x6b] as Code,
  i32Mul: [0x6c] as Code,
  i32And: [0x71] as Code,
  i32Or: [0x72] as Code,
  i32Shl: [0x74] as Code,
  i32DivS: [0x6d] as Code,
  i32RemS: [0x6f] as Code,
  /** memory.copy (dst, src, n bytes) and memory.fill (dst, byte, n): bulk memory. */
  memoryCopy: [0xfc, 0x0a, 0x00, 0x00] as Code,
  memoryFill: [0xfc, 0x0b, 0x00] as Code,
  f64Abs: [0x99] as Code,
  f64Neg: [0x9a] as Code,
  f64Sqrt: [0x9f] as Code,
  f64Add: [0xa0] as Code,
  f64Sub: [0xa1] as Code,
  f64Mul: [0xa2] as Code,
  f64Div: [0xa3] as Code,
  f64Min: [0xa4] as Code,
  f64Max: [0xa5] as Code,
  f32Add: [0x92] as Code,
  f32Mul: [0x94] as Code,
  f64PromoteF32: [0xbb] as Code,
  f32DemoteF64: [0xb6] as Code,
  v128Load: (offset = 0): Code => simd(0x00, ...memarg(0, offset)),
  v128Load32Splat: (offset = 0): Code => simd(0x09, ...memarg(0, offset)),
  v128Load64Splat: (offset = 0): Code => simd(0x0a, ...memarg(0, offset)),
  v128Load64Zero: (offset = 0): Code => simd(0x5d, ...memarg(0, offset)),
  v128Store: (offset = 0): Code => simd(0x0b, ...memarg(0, offset)),
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  f32x4Splat: simd(0x13),
  f64x2Splat: simd(0x14),
  /** Bytes 0-15 pick from the first operand, 16-31 from the second. */
  shuffle: (lanes: number[]): Code => simd(0x0d, ...lanes),
  f32x4Extract: (lane: number): Code => simd(0x1f, lane),
  i32x4Splat: simd(0x11),
  i32x4Extract: (lane: number): Code => simd(0x1b, lane),
  f64x2Extract: (lane: number): Code => simd(0x21, lane),
  f64x2Replace: (lane: number): Code => simd(0x22, lane),
  f32x4Lt: simd(0x43),
  f32x4Gt: simd(0x44),
  f64x2Lt: simd(0x49),
  f64x2Le: simd(0x4b),
  f64x2Eq: simd(0x47),
  v128And: simd(0x4e),
  v128Or: simd(0x50),
  v128Bitselect: simd(0x52),
  v128AnyTrue: simd(0x53),
  f32x4Sqrt: simd(0xe3),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4Neg: simd(0xe1),
  /** `b < a ? b : a`. */
  f32x4Pmin: simd(0xea),
  /** `a < b ? b : a`. */
  f32x4Pmax: simd(0xeb),
  f64x2Abs: simd(0xec),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Mul: simd(0xf2),
  f64x2Div: simd(0xf3),
  f64x2Min: simd(0xf4),
  f64x2Max: simd(0xf5),
  /** `b < a ? b : a` (one instruction, unlike f64x2.min's NaN and -0 rules). */
  f64x2Pmin: simd(0xf6),
  /** `a < b ? b : a`. */
  f64x2Pmax: simd(0xf7),
  f64x2PromoteLow: simd(0x5f),
  /** Relaxed SIMD's `a·b + c`: fused (one rounding) where the CPU has FMA, else a multiply and an add. */
  f32x4RelaxedMadd: simd(0x105),
} as const;

/** Named locals for hand-written function bodies. */
export class Fn {
  readonly body: Code = [];
  readonly locals: number[] = [];
  private readonly names = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly params: [string, number][],
  ) {
    params.forEach(([n], i) => this.names.set(n, i));
  }
  local(name: string, type: number): void {
    this.names.set(name, this.params.length + this.locals.length);
    this.locals.push(type);
  }
  get(name: string): Code {
    return op.get(this.idx(name));
  }
  set(name: string): Code {
    return op.set(this.idx(name));
  }
  tee(name: string): Code {
    return op.tee(this.idx(name));
  }
  idx(name: string): number {
    const i = this.names.get(name);
    if (i === undefined) throw new Error(`no local ${name}`);
    return i;
  }
  emit(...codes: Code[]): void {
    for (const c of codes) for (const b of c) this.body.push(b);
  }
  def(): FuncDef {
    return {
      name: this.name,
      params: this.params.map(([, t]) => t),
      results: [],
      locals: this.locals,
      body: this.body,
    };
  }
}

/** A function: parameter and result types, extra locals (type per local), body (without `end`). */
export interface FuncDef {
  name: string;
  params: number[];
  results: number[];
  locals: number[];
  body: Code;
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: Code): Code => [id, ...uleb(content.length), ...content];
const name = (s: string): Code => {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
};

/**
 * A module importing memory `env.mem` (shared when `shared`, which then needs `maxPages`; without
 * `maxPages` any memory can be imported, e.g. another module's growable one) and exporting every
 * function by name.
 */
export function buildModule(
  funcs: FuncDef[],
  memory: { shared: boolean; maxPages?: number },
): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  if (memory.shared && memory.maxPages === undefined) throw new Error('a shared memory needs maxPages');
  const limits =
    memory.maxPages === undefined
      ? [0x00, ...uleb(1)]
      : [memory.shared ? 0x03 : 0x01, ...uleb(1), ...uleb(memory.maxPages)];
  const imports = vec([[...name('env'), ...name('mem'), 0x02, ...limits]]);
  const fns = vec(funcs.map((_, i) => uleb(i)));
  const exports = vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const bodies = vec(
    funcs.map((f) => {
      // Locals run-length encoded by type.
      const groups: Code[] = [];
      for (let i = 0; i < f.locals.length;) {
        let j = i;
        while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
        groups.push([...uleb(j - i), f.locals[i]]);
        i = j;
      }
      const body = [...vec(groups), ...f.body, 0x0b];
      return [...uleb(body.length), ...body];
    }),
  );
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, fns),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}

/** Whether this engine runs WebAssembly SIMD (a one-instruction probe module). */
export function hasWasmSimd(): boolean {
  try {
    if (typeof WebAssembly !== 'object') return false;
    const probe = buildModule(
      [{ name: 'f', params: [], results: [T.i32], locals: [], body: [...op.v128Zero, ...op.v128AnyTrue] }],
      { shared: false, maxPages: 1 },
    );
    return WebAssembly.validate(probe);
  } catch {
    return false;
  }
}

let relaxed: boolean | undefined;

/**
 * Whether this engine runs relaxed SIMD (`f32x4.relaxed_madd`, a fused multiply-add on x86 with FMA and on ARM): 1.25x
 * the matrix-product rate of a multiply and an add on 128-bit lanes. Chrome 114+ and Node 22+ have it on; Node 20's V8
 * has it behind `--experimental-wasm-relaxed-simd`, a wasm feature flag that V8 reads when a module is compiled, so
 * it is set here at run time (the finished proposal, not an experiment in semantics).
 */
export function hasRelaxedSimd(): boolean {
  if (relaxed !== undefined) return relaxed;
  const probe = () => {
    try {
      const bytes = buildModule(
        [
          {
            name: 'f',
            params: [],
            results: [T.i32],
            locals: [],
            body: [...op.v128Zero, ...op.v128Zero, ...op.v128Zero, ...op.f32x4RelaxedMadd, ...op.v128AnyTrue],
          },
        ],
        { shared: false, maxPages: 1 },
      );
      return typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
    } catch {
      return false;
    }
  };
  relaxed = probe();
  if (!relaxed) {
    const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const v8 = node?.getBuiltinModule?.('node:v8') as
      { setFlagsFromString?: (flags: string) => void } | undefined;
    if (typeof v8?.setFlagsFromString === 'function') {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxed = probe();
    }
  }
  return relaxed;
}
