/*
 * A streaming JPEG decoder. Its structure follows libjpeg (T.81 Annexes B, F, G); its sample
 * arithmetic follows jpeg-js 0.4.4 (BSD-3-Clause, Copyright (c) 2014, Eugene Ware; from pdf.js,
 * Apache-2.0, Copyright 2011 notmasteryet) so that full-size pixels equal jpeg-js's: the same IDCT
 * (jpeg-idct.ts), chroma replicated as jpeg-js does, and its YCbCr and Adobe CMYK/YCCK formulas.
 * The notices are in packages/core/NOTICE.
 */
import { CnnvizError } from '../errors.js';
import { check } from '../validate.js';
import {
  BitReader,
  buildHuffmanTable,
  decodeAcFirst,
  decodeAcRefine,
  decodeBaseline,
  decodeDcFirst,
  decodeDcRefine,
  ZIGZAG,
  type BlockDecoder,
  type EntropyComponent,
  type HuffmanTable,
  type ScanState,
} from './jpeg-huffman.js';
import { idct8, idctReduced } from './jpeg-idct.js';

/** Receives one decoded row as RGB bytes (`width * 3`); the buffer is reused for the next row. */
export type RowSink = (rgb: Uint8Array, y: number) => void;

/** Options of `decodeJpegRows`. */
export interface DecodeJpegRowsOptions {
  /**
   * 1 (default), 2, 4 or 8: decode at 1/scale of the width and height (rounded up) with a
   * reduced-size inverse DCT, as libjpeg's `scale_denom`: less work and each sample is about the
   * mean of the scale x scale pixels it replaces.
   */
  scale?: 1 | 2 | 4 | 8;
  /** Names the image in error messages. */
  what?: string;
}

/** What `decodeJpegRows` decoded. */
export interface JpegRowsInfo {
  /** The output width: the image's width divided by `scale`, rounded up. */
  width: number;
  /** The output height: the image's height divided by `scale`, rounded up. */
  height: number;
  /** A progressive (SOF2) file. */
  progressive: boolean;
  /**
   * Bytes of the coefficient buffer: 0 for a baseline JPEG with one scan (decoded one MCU row at a
   * time); for progressive and multi-scan files one Int16 per component sample (3 bytes per pixel
   * with 4:2:0 chroma, 6 with 4:4:4).
   */
  coefficientBytes: number;
}

/** More scans than any encoder writes (libjpeg's progressive script has 10) cost work without data. */
export const MAX_JPEG_SCANS = 100;

interface Component extends EntropyComponent {
  id: number;
  h: number;
  v: number;
  tq: number;
  qt?: Int32Array;
  /** Samples per block across and down at the output scale (more for subsampled chroma, as libjpeg). */
  nw: number;
  nh: number;
  /** Blocks that hold the component's samples, and the MCU-padded grid. */
  bw: number;
  bh: number;
  bwMcu: number;
  bhMcu: number;
  coefs?: Int16Array;
  band: Uint8Array;
  bandW: number;
  /** Output column -> sample column (nearest, as jpeg-js). */
  xmap: Int32Array;
}

const YCC = (() => {
  const t = {
    crR: new Float64Array(256),
    cbG: new Float64Array(256),
    crG: new Float64Array(256),
    cbB: new Float64Array(256),
  };
  for (let i = 0; i < 256; i++) {
    t.crR[i] = 1.402 * (i - 128);
    t.cbG[i] = 0.3441363 * (i - 128);
    t.crG[i] = 0.71413636 * (i - 128);
    t.cbB[i] = 1.772 * (i - 128);
  }
  return t;
})();

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
const u16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const hex = (m: number) => `0xFF${m.toString(16).toUpperCase().padStart(2, '0')}`;

const UNSUPPORTED: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'hierarchical',
  0xc6: 'hierarchical',
  0xc7: 'hierarchical',
  0xc9: 'arithmetic-coded',
  0xca: 'arithmetic-coded progressive',
  0xcb: 'arithmetic-coded lossless',
  0xcd: 'arithmetic-coded hierarchical',
  0xce: 'arithmetic-coded hierarchical',
  0xcf: 'arithmetic-coded hierarchical',
};

/**
 * Decodes a baseline or progressive 8-bit Huffman JPEG (grey, YCbCr or Adobe RGB/CMYK/YCCK, any
 * chroma subsampling, restart markers) into RGB rows for `sink`, created from the output size
 * once the headers were read. A baseline file with one scan is decoded one MCU row at a time: only
 * that band of samples exists besides what `sink` keeps, so a shrinking sink never holds the
 * full-size image. Progressive (and multi-scan) files keep their coefficients (Int16 per sample)
 * and then emit rows the same way. Lossless, hierarchical, arithmetic-coded and 12-bit JPEGs, and
 * data that cannot be decoded, are BAD_IMAGE; a file that ends early is decoded as far as it goes
 * (later blocks stay empty, mid-grey, as libjpeg leaves them). EXIF orientation is not applied.
 */
export function decodeJpegRows(
  bytes: Uint8Array,
  options: DecodeJpegRowsOptions,
  sink: (width: number, height: number) => RowSink,
): JpegRowsInfo {
  const what = options.what ?? 'the image';
  const scale = options.scale ?? 1;
  check([1, 2, 4, 8].includes(scale), 'BAD_OPTION', `scale must be 1, 2, 4 or 8, got ${String(scale)}`);
  const n = (8 / scale) as 1 | 2 | 4 | 8;
  const fail = (why: string) => new CnnvizError('BAD_IMAGE', `${what} is not a readable JPEG image: ${why}`);
  const d = bytes;
  if (d.length < 4 || d[0] !== 0xff || d[1] !== 0xd8) throw fail('it does not start with an SOI marker');

  const qts: (Int32Array | undefined)[] = [];
  const dcs: (HuffmanTable | undefined)[] = [];
  const acs: (HuffmanTable | undefined)[] = [];
  let restartInterval = 0;
  let adobe: number | undefined;
  const comps: Component[] = [];
  let progressive = false;
  let width = 0;
  let height = 0;
  let hmax = 1;
  let vmax = 1;
  let mcusX = 0;
  let mcusY = 0;
  let outW = 0;
  let outH = 0;
  let scans = 0;
  let buffered = false;
  let frameSeen = false;
  let push: RowSink | undefined;
  let rgb = new Uint8Array(0);
  let convert: (y: number, ly: number) => void = () => undefined;
  const p = new Int32Array(64);
  const tmp = new Float64Array(64);

  const idct = (c: Component, coefs: Int16Array | Int32Array, at: number, o: number) => {
    if (c.nw === 8 && c.nh === 8) idct8(coefs, at, c.qt!, p, c.band, o, c.bandW);
    else idctReduced(c.nw, c.nh, coefs, at, c.qt!, tmp, c.band, o, c.bandW);
  };
  // Quantisation tables are looked up when samples are made (after all scans of a progressive file).
  const latchTables = () => {
    for (const c of comps) {
      c.qt = qts[c.tq];
      if (!c.qt) throw fail(`component ${c.id} uses quantisation table ${c.tq}, which is not defined`);
    }
  };
  const emitRows = (my: number) => {
    const y0 = my * vmax * n;
    const y1 = Math.min(outH, y0 + vmax * n);
    for (let y = y0; y < y1; y++) {
      convert(y, y - y0);
      push!(rgb, y);
    }
  };

  const startFrame = (m: number, seg: Uint8Array) => {
    if (frameSeen) throw fail('it has more than one frame header');
    frameSeen = true;
    if (m !== 0xc0 && m !== 0xc1 && m !== 0xc2)
      throw fail(
        `it is a ${UNSUPPORTED[m] ?? 'SOF ' + hex(m)} JPEG; cnnviz reads baseline and progressive Huffman-coded JPEGs (convert it, e.g. to PNG)`,
      );
    if (seg.length < 6) throw fail('its frame header is truncated');
    if (seg[0] !== 8)
      throw fail(`it has ${seg[0]}-bit samples; cnnviz reads 8-bit JPEGs (convert it, e.g. to PNG)`);
    progressive = m === 0xc2;
    height = u16(seg, 1);
    width = u16(seg, 3);
    const nc = seg[5];
    if (width === 0 || height === 0) throw fail(`its frame declares ${width} x ${height} pixels`);
    if (nc !== 1 && nc !== 3 && nc !== 4) throw fail(`it has ${nc} colour components (expected 1, 3 or 4)`);
    if (seg.length < 6 + 3 * nc) throw fail('its frame header is truncated');
    for (let k = 0; k < nc; k++) {
      const o = 6 + 3 * k;
      const h = nc === 1 ? 1 : seg[o + 1] >> 4; // one component: an MCU is one block whatever h, v say
      const v = nc === 1 ? 1 : seg[o + 1] & 15;
      if (h < 1 || h > 4 || v < 1 || v > 4) throw fail(`component ${k} has sampling factors ${h} x ${v}`);
      if (seg[o + 2] > 3) throw fail(`component ${k} names quantisation table ${seg[o + 2]}`);
      if (comps.some((c) => c.id === seg[o])) throw fail(`component id ${seg[o]} appears twice`);
      comps.push({
        id: seg[o],
        h,
        v,
        tq: seg[o + 2],
        pred: 0,
        nw: n,
        nh: n,
        bw: 0,
        bh: 0,
        bwMcu: 0,
        bhMcu: 0,
        band: new Uint8Array(0),
        bandW: 0,
        xmap: new Int32Array(0),
      });
    }
    hmax = Math.max(...comps.map((c) => c.h));
    vmax = Math.max(...comps.map((c) => c.v));
    mcusX = Math.ceil(width / (8 * hmax));
    mcusY = Math.ceil(height / (8 * vmax));
    outW = Math.ceil((width * n) / 8);
    outH = Math.ceil((height * n) / 8);
    let blocks = 0;
    for (const c of comps) {
      c.bw = Math.ceil(Math.ceil((width * c.h) / hmax) / 8);
      c.bh = Math.ceil(Math.ceil((height * c.v) / vmax) / 8);
      c.bwMcu = mcusX * c.h;
      c.bhMcu = mcusY * c.v;
      blocks += c.bw * c.bh;
    }
    // Huffman coding spends at least one bit on every 8 x 8 block: a small file declaring a huge
    // image is truncated or a bomb, refused before any sample buffer exists.
    if (d.length * 8 < blocks)
      throw fail(`${d.length} bytes cannot hold ${width} x ${height} pixels (truncated?)`);
  };

  const startOutput = () => {
    for (const c of comps) {
      // A subsampled component scaled down gets a larger IDCT instead of being replicated later
      // (libjpeg's DCT_scaled_size): 4:2:0 chroma at 1/8 is a 2 x 2 IDCT, at output resolution.
      const larger = (s: number, max: number) => {
        let k = n;
        while (k < 8 && 2 * k * s <= max * n) k *= 2;
        return k;
      };
      c.nw = larger(c.h, hmax);
      c.nh = larger(c.v, vmax);
      c.bandW = c.bwMcu * c.nw;
      c.band = new Uint8Array(c.bandW * c.v * c.nh);
      c.xmap = new Int32Array(outW);
      for (let x = 0; x < outW; x++) c.xmap[x] = Math.floor((x * c.h * c.nw) / (hmax * n));
    }
    rgb = new Uint8Array(outW * 3);
    const rowOf = (c: Component, ly: number) => Math.floor((ly * c.v * c.nh) / (vmax * n)) * c.bandW;
    const [c0, c1, c2, c3] = comps;
    if (comps.length === 1) {
      convert = (_y, ly) => {
        const b = c0.band;
        const r = rowOf(c0, ly);
        const xm = c0.xmap;
        for (let x = 0, o = 0; x < outW; x++, o += 3) rgb[o] = rgb[o + 1] = rgb[o + 2] = b[r + xm[x]];
      };
    } else if (comps.length === 3) {
      // Adobe's transform flag, else libjpeg's guess from component ids 'R','G','B'; jpeg-js always assumes YCbCr.
      const isRgb = adobe !== undefined ? adobe === 0 : c0.id === 82 && c1.id === 71 && c2.id === 66;
      const { crR, cbG, crG, cbB } = YCC;
      convert = (_y, ly) => {
        const [r0, r1, r2] = [rowOf(c0, ly), rowOf(c1, ly), rowOf(c2, ly)];
        const [b0, b1, b2] = [c0.band, c1.band, c2.band];
        const [m0, m1, m2] = [c0.xmap, c1.xmap, c2.xmap];
        for (let x = 0, o = 0; x < outW; x++, o += 3) {
          const Y = b0[r0 + m0[x]];
          const cb = b1[r1 + m1[x]];
          const cr = b2[r2 + m2[x]];
          if (isRgb) {
            rgb[o] = Y;
            rgb[o + 1] = cb;
            rgb[o + 2] = cr;
          } else {
            rgb[o] = clamp8(Y + crR[cr]);
            rgb[o + 1] = clamp8(Y - cbG[cb] - crG[cr]);
            rgb[o + 2] = clamp8(Y + cbB[cb]);
          }
        }
      };
    } else {
      if (adobe === undefined) throw fail('it has 4 components but no Adobe marker saying they are CMYK');
      const ycck = adobe !== 0;
      const { crR, cbG, crG, cbB } = YCC;
      const ink = (c: number, k: number) => 255 - clamp8(c * (1 - k / 255) + k);
      convert = (_y, ly) => {
        const [r0, r1, r2, r3] = [rowOf(c0, ly), rowOf(c1, ly), rowOf(c2, ly), rowOf(c3, ly)];
        for (let x = 0, o = 0; x < outW; x++, o += 3) {
          const a = c0.band[r0 + c0.xmap[x]];
          const b = c1.band[r1 + c1.xmap[x]];
          const c = c2.band[r2 + c2.xmap[x]];
          const k = 255 - c3.band[r3 + c3.xmap[x]];
          // Adobe stores inverted CMYK; YCCK is YCbCr of the inverted CMY.
          const cc = ycck ? Math.trunc(clamp8(a + crR[c])) : 255 - a;
          const mm = ycck ? Math.trunc(clamp8(a - cbG[b] - crG[c])) : 255 - b;
          const yy = ycck ? Math.trunc(clamp8(a + cbB[b])) : 255 - c;
          rgb[o] = ink(cc, k);
          rgb[o + 1] = ink(mm, k);
          rgb[o + 2] = ink(yy, k);
        }
      };
    }
    push = sink(outW, outH);
  };

  /** The one scan of a baseline file with all components interleaved: decode, IDCT and emit per MCU row. */
  const streamScan = (scomps: Component[], start: number) => {
    const r = new BitReader(d, start, fail);
    const blk = new Int32Array(64);
    let mcu = 0;
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++) {
        if (restartInterval && mcu > 0 && mcu % restartInterval === 0) {
          r.restart();
          for (const c of scomps) c.pred = 0;
        }
        for (const c of scomps)
          for (let by = 0; by < c.v; by++)
            for (let bx = 0; bx < c.h; bx++) {
              blk.fill(0);
              if (!r.exhausted) decodeBaseline(r, c, blk, 0);
              idct(c, blk, 0, by * c.nh * c.bandW + (mx * c.h + bx) * c.nw);
            }
        mcu++;
      }
      emitRows(my);
    }
  };

  /** One scan into the coefficient buffers (progressive, or one of several sequential scans). */
  const bufferScan = (scomps: Component[], st: ScanState, start: number): BitReader => {
    const decode: BlockDecoder = !progressive
      ? decodeBaseline
      : st.ss === 0
        ? st.ah === 0
          ? decodeDcFirst
          : decodeDcRefine
        : st.ah === 0
          ? decodeAcFirst
          : decodeAcRefine;
    const r = new BitReader(d, start, fail);
    let mcu = 0;
    const restart = () => {
      if (restartInterval && mcu > 0 && mcu % restartInterval === 0) {
        r.restart();
        for (const c of scomps) c.pred = 0;
        st.eobrun = 0;
      }
      mcu++;
    };
    if (scomps.length === 1) {
      // Non-interleaved: one block per MCU, over the blocks that hold samples only.
      const c = scomps[0];
      const coefs = c.coefs!;
      for (let by = 0; by < c.bh; by++)
        for (let bx = 0; bx < c.bw; bx++) {
          restart();
          if (!r.exhausted) decode(r, c, coefs, (by * c.bwMcu + bx) * 64, st);
        }
    } else {
      for (let my = 0; my < mcusY; my++)
        for (let mx = 0; mx < mcusX; mx++) {
          restart();
          if (r.exhausted) continue;
          for (const c of scomps)
            for (let by = 0; by < c.v; by++)
              for (let bx = 0; bx < c.h; bx++)
                decode(r, c, c.coefs!, ((my * c.v + by) * c.bwMcu + mx * c.h + bx) * 64, st);
        }
    }
    return r;
  };

  const emitBuffered = () => {
    latchTables();
    for (let my = 0; my < mcusY; my++) {
      for (const c of comps)
        for (let by = 0; by < c.v; by++)
          for (let bx = 0; bx < c.bwMcu; bx++)
            idct(c, c.coefs!, ((my * c.v + by) * c.bwMcu + bx) * 64, by * c.nh * c.bandW + bx * c.nw);
      emitRows(my);
    }
  };

  let i = 2;
  let coefficientBytes = 0;
  markers: while (i < d.length) {
    while (i < d.length && d[i] !== 0xff) i++; // stray bytes between segments (libjpeg skips them too)
    while (i < d.length && d[i] === 0xff) i++;
    if (i >= d.length) break;
    const m = d[i++];
    if (m === 0xd9) break;
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    if (i + 2 > d.length) break;
    const len = u16(d, i);
    if (len < 2 || i + len > d.length) {
      if (scans > 0) break; // a file cut inside a later segment: decode what came
      throw fail(`segment ${hex(m)} at byte ${i - 2} runs past the end of the file`);
    }
    const seg = d.subarray(i + 2, i + len);
    i += len;
    if (m === 0xdb) {
      for (let j = 0; j < seg.length;) {
        const pq = seg[j] >> 4;
        const tq = seg[j] & 15;
        const size = pq === 0 ? 64 : 128;
        if (pq > 1 || tq > 3 || j + 1 + size > seg.length) throw fail('a quantisation table is malformed');
        const t = new Int32Array(64);
        for (let k = 0; k < 64; k++) t[ZIGZAG[k]] = pq === 0 ? seg[j + 1 + k] : u16(seg, j + 1 + 2 * k);
        qts[tq] = t;
        j += 1 + size;
      }
    } else if (m === 0xc4) {
      for (let j = 0; j < seg.length;) {
        const tc = seg[j] >> 4;
        const th = seg[j] & 15;
        if (tc > 1 || th > 3 || j + 17 > seg.length) throw fail('a Huffman table is malformed');
        const counts = seg.subarray(j + 1, j + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        if (total > 256 || j + 17 + total > seg.length) throw fail('a Huffman table is malformed');
        const table = buildHuffmanTable(counts, seg.slice(j + 17, j + 17 + total), fail);
        (tc === 0 ? dcs : acs)[th] = table;
        j += 17 + total;
      }
    } else if (m === 0xdd) {
      if (seg.length < 2) throw fail('its restart interval segment is truncated');
      restartInterval = u16(seg, 0);
    } else if (m === 0xee) {
      if (seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') adobe = seg[11];
    } else if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      startFrame(m, seg);
    } else if (m === 0xdc) {
      // DNL: the height is in the frame header already (a zero height was refused there).
    } else if (m === 0xda) {
      if (!frameSeen) throw fail('a scan comes before the frame header');
      const ns = seg[0];
      if (!(ns >= 1 && ns <= 4) || seg.length < 4 + 2 * ns) throw fail('a scan header is malformed');
      const scomps: Component[] = [];
      for (let k = 0; k < ns; k++) {
        const c = comps.find((x) => x.id === seg[1 + 2 * k]);
        if (!c || scomps.includes(c))
          throw fail(`a scan names component ${seg[1 + 2 * k]}, which the frame lacks`);
        c.dc = dcs[seg[2 + 2 * k] >> 4];
        c.ac = acs[seg[2 + 2 * k] & 15];
        scomps.push(c);
      }
      const st: ScanState = {
        ss: seg[1 + 2 * ns],
        se: seg[2 + 2 * ns],
        ah: seg[3 + 2 * ns] >> 4,
        al: seg[3 + 2 * ns] & 15,
        eobrun: 0,
      };
      const dcScan = progressive ? st.ss === 0 : true;
      if (progressive) {
        const ok = st.ss <= st.se && st.se <= 63 && st.al <= 13 && (st.ss === 0 ? st.se === 0 : ns === 1);
        if (!ok) throw fail(`a progressive scan has bands ${st.ss}..${st.se}, bit ${st.al}`);
      }
      for (const c of scomps) {
        if (dcScan && (!progressive || st.ah === 0) && !c.dc)
          throw fail('a scan uses an undefined DC Huffman table');
        if ((!progressive || st.ss > 0) && !c.ac) throw fail('a scan uses an undefined AC Huffman table');
      }
      if (++scans > MAX_JPEG_SCANS) throw fail(`it has more than ${MAX_JPEG_SCANS} scans`);
      for (const c of comps) c.pred = 0;
      if (scans === 1) {
        buffered = progressive || ns !== comps.length;
        if (buffered)
          for (const c of comps) {
            c.coefs = new Int16Array(c.bwMcu * c.bhMcu * 64);
            coefficientBytes += c.coefs.byteLength;
          }
        if (!buffered) latchTables(); // refused before the sink allocates anything
        startOutput();
        if (!buffered) {
          streamScan(scomps, i);
          break markers; // a baseline file has nothing after its one complete scan that changes pixels
        }
      }
      i = bufferScan(scomps, st, i).nextMarker();
    }
    // APPn, COM and other segments carry nothing the pixels need.
  }
  if (!frameSeen) throw fail('it has no frame header');
  if (scans === 0) throw fail('it has no image data (no scan)');
  if (buffered) emitBuffered();
  return { width: outW, height: outH, progressive, coefficientBytes };
}
