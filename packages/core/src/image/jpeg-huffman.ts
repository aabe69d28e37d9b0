/**
 * Huffman entropy decoding of baseline and progressive JPEG scans (ITU-T T.81 Annex F and G, with
 * libjpeg's decode_mcu_* structure), for the streaming decoder in jpeg-rows.ts.
 */

/** Zig-zag index -> natural (row-major) index; 16 extra entries absorb runs that overshoot 63. */
export const ZIGZAG = new Int32Array(80).fill(63);
ZIGZAG.set([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);

const LOOKAHEAD = 9;

/** A decoding table: codes up to 9 bits in one lookup, longer ones through maxcode (Annex F.2.2.3). */
export interface HuffmanTable {
  /** (length << 8) | value, 0 when the code is longer than LOOKAHEAD bits. */
  lut: Int32Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

export function buildHuffmanTable(
  counts: Uint8Array,
  values: Uint8Array,
  fail: (why: string) => Error,
): HuffmanTable {
  const lut = new Int32Array(1 << LOOKAHEAD);
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    valptr[len] = k;
    mincode[len] = code;
    if (n > 0) {
      code += n;
      if (code > 1 << len) throw fail('a Huffman table has more codes than its code lengths allow');
      maxcode[len] = code - 1;
      if (len <= LOOKAHEAD)
        for (let c = mincode[len]; c < code; c++) {
          const shift = LOOKAHEAD - len;
          for (let f = 0; f < 1 << shift; f++)
            lut[(c << shift) | f] = (len << 8) | values[k + c - mincode[len]];
        }
      k += n;
    }
    code <<= 1;
  }
  return { lut, maxcode, valptr, mincode, values };
}

/**
 * Reads entropy-coded bits: 0xFF00 is an 0xFF data byte; at a marker or the end of the data it
 * supplies zero bits and stays at the marker. Once a zero bit was used, `exhausted` says so and
 * callers leave the remaining blocks as they are (libjpeg's insufficient_data), rather than
 * decoding noise out of zeros.
 */
export class BitReader {
  pos: number;
  private buf = 0;
  private cnt = 0;
  /** Zero bits appended at the end of `buf` because the data had ended. */
  private pad = 0;

  constructor(
    private readonly data: Uint8Array,
    start: number,
    readonly fail: (why: string) => Error,
  ) {
    this.pos = start;
  }

  private fill(): void {
    const d = this.data;
    while (this.cnt <= 24) {
      let byte = 0;
      const p = this.pos;
      if (p < d.length) {
        byte = d[p];
        if (byte === 0xff) {
          const next = d[p + 1];
          if (next === 0) this.pos = p + 2;
          else {
            byte = 0; // a marker: zeros from here on, pos stays on it
            this.pad = Math.min(this.pad + 8, 64);
          }
        } else this.pos = p + 1;
      } else this.pad = Math.min(this.pad + 8, 64);
      this.buf = (this.buf << 8) | byte;
      this.cnt += 8;
    }
  }

  get exhausted(): boolean {
    return this.cnt < this.pad;
  }

  bits(n: number): number {
    if (n === 0) return 0;
    if (this.cnt < n) this.fill();
    this.cnt -= n;
    return (this.buf >>> this.cnt) & ((1 << n) - 1);
  }

  bit(): number {
    if (this.cnt < 1) this.fill();
    this.cnt--;
    return (this.buf >>> this.cnt) & 1;
  }

  /** n bits as a signed coefficient (Annex F.2.2.1, EXTEND). */
  receiveExtend(n: number): number {
    const v = this.bits(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  decode(t: HuffmanTable): number {
    if (this.cnt < 16) this.fill();
    const e = t.lut[(this.buf >>> (this.cnt - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (e !== 0) {
      this.cnt -= e >> 8;
      return e & 255;
    }
    let len = LOOKAHEAD + 1;
    let code = (this.buf >>> (this.cnt - len)) & ((1 << len) - 1);
    while (code > t.maxcode[len]) {
      len++;
      if (len > 16) throw this.fail('corrupt entropy-coded data (no Huffman code matches)');
      code = (this.buf >>> (this.cnt - len)) & ((1 << len) - 1);
    }
    this.cnt -= len;
    return t.values[(t.valptr[len] + code - t.mincode[len]) & 255];
  }

  /**
   * At a restart interval's end: drop the padding bits and step over an RSTn marker if one is
   * next. A missing marker is tolerated (decoding goes on from here) so the work stays linear.
   */
  restart(): void {
    this.cnt = 0;
    this.buf = 0;
    this.pad = 0;
    const d = this.data;
    if (d[this.pos] === 0xff && d[this.pos + 1] >= 0xd0 && d[this.pos + 1] <= 0xd7) this.pos += 2;
  }

  /** After a scan: the offset of the next marker (stuffed bytes and RSTn are scan data). */
  nextMarker(): number {
    const d = this.data;
    let p = this.pos;
    while (p + 1 < d.length && !(d[p] === 0xff && d[p + 1] !== 0 && !(d[p + 1] >= 0xd0 && d[p + 1] <= 0xd7)))
      p++;
    return p;
  }
}

/** Decodes one block of a scan into `blk` at `o`. */
export type BlockDecoder = (
  r: BitReader,
  c: EntropyComponent,
  blk: Int16Array,
  o: number,
  st: ScanState,
) => void;

/** What one scan decodes; `eobrun` carries over between blocks of a progressive AC scan. */
export interface ScanState {
  ss: number;
  se: number;
  ah: number;
  al: number;
  eobrun: number;
}

export interface EntropyComponent {
  dc?: HuffmanTable;
  ac?: HuffmanTable;
  pred: number;
}

/** A sequential (baseline) block into `blk` at `o`, which holds zeros. */
export function decodeBaseline(
  r: BitReader,
  c: EntropyComponent,
  blk: Int16Array | Int32Array,
  o: number,
): void {
  const s = r.decode(c.dc!);
  c.pred += s === 0 ? 0 : r.receiveExtend(s);
  blk[o] = c.pred;
  const ac = c.ac!;
  for (let k = 1; k < 64; k++) {
    const rs = r.decode(ac);
    const n = rs & 15;
    const run = rs >> 4;
    if (n) {
      k += run;
      blk[o + ZIGZAG[k]] = r.receiveExtend(n);
    } else {
      if (run !== 15) break;
      k += 15;
    }
  }
}

export const decodeDcFirst: BlockDecoder = (r, c, blk, o, st) => {
  const s = r.decode(c.dc!);
  c.pred += s === 0 ? 0 : r.receiveExtend(s);
  blk[o] = c.pred * (1 << st.al);
};

export const decodeDcRefine: BlockDecoder = (r, _c, blk, o, st) => {
  if (r.bit()) blk[o] |= 1 << st.al;
};

export const decodeAcFirst: BlockDecoder = (r, c, blk, o, st) => {
  if (st.eobrun > 0) {
    st.eobrun--;
    return;
  }
  const ac = c.ac!;
  for (let k = st.ss; k <= st.se; k++) {
    const rs = r.decode(ac);
    const n = rs & 15;
    const run = rs >> 4;
    if (n) {
      k += run;
      blk[o + ZIGZAG[k]] = r.receiveExtend(n) * (1 << st.al);
    } else if (run === 15) k += 15;
    else {
      st.eobrun = (1 << run) + r.bits(run) - 1;
      break;
    }
  }
};

/** A nonzero coefficient's correction bit: when set, it adds p1 away from zero (unless already there). */
function correct(r: BitReader, blk: Int16Array, z: number, p1: number): void {
  const coef = blk[z];
  if (r.bit() && (coef & p1) === 0) blk[z] = coef >= 0 ? coef + p1 : coef - p1;
}

/** Successive approximation of AC coefficients (libjpeg's decode_mcu_AC_refine). */
export const decodeAcRefine: BlockDecoder = (r, c, blk, o, st) => {
  const p1 = 1 << st.al;
  const m1 = -1 << st.al;
  const se = st.se;
  let k = st.ss;
  if (st.eobrun === 0) {
    const ac = c.ac!;
    for (; k <= se; k++) {
      const rs = r.decode(ac);
      let run = rs >> 4;
      let s = rs & 15;
      if (s) {
        if (s !== 1) throw r.fail('corrupt progressive scan data (a refinement larger than one bit)');
        s = r.bit() ? p1 : m1;
      } else if (run !== 15) {
        st.eobrun = (1 << run) + r.bits(run);
        break;
      }
      for (; k <= se; k++) {
        const z = o + ZIGZAG[k];
        if (blk[z] !== 0) correct(r, blk, z, p1);
        else if (--run < 0) break;
      }
      if (s && k <= se) blk[o + ZIGZAG[k]] = s;
    }
  }
  if (st.eobrun > 0) {
    for (; k <= se; k++) {
      const z = o + ZIGZAG[k];
      if (blk[z] !== 0) correct(r, blk, z, p1);
    }
    st.eobrun--;
  }
};
