// Rewrites a saved style network (model.json + weights.bin from saveStyleNetwork) with float16 weights (half the
// bytes) or, with --uint8, uint8 weights (a quarter: each tensor as round((w - min) / scale), TF.js's affine
// quantisation), so two bundled styles fit @cnnviz/synthesis's size budget. tf.io decodes quantised weights on load
// (a weightsManifest entry's `quantization`), so loadStyleNetwork reads the result unchanged. Prints the largest
// output difference to the float32 network on a photo (float16 keeps ~3 significant digits).
//
//   npx tsx --tsconfig tsconfig.json bench/src/style-network-quantize.ts IN_DIR OUT_DIR [--uint8]
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { resize } from '@cnnviz/core';
import { images } from '@cnnviz/models';
import { initBackend } from '@cnnviz/node';
import { applyStyleNetwork, loadStyleNetwork } from '@cnnviz/synthesis';

const [inDir, outDir, flag] = process.argv.slice(2);
if (!inDir || !outDir || (flag !== undefined && flag !== '--uint8'))
  throw new Error('usage: style-network-quantize.ts IN_DIR OUT_DIR [--uint8]');
const uint8 = flag === '--uint8';

/** IEEE 754 half-precision bits of `x`, rounded to nearest even (subnormals included, overflow to ±inf). */
function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

const modelJson = JSON.parse(readFileSync(join(inDir, 'model.json'), 'utf8'));
const bin = readFileSync(join(inDir, 'weights.bin'));
const floats = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
const halves = new Uint16Array(uint8 ? 0 : floats.length);
const bytes = new Uint8Array(uint8 ? floats.length : 0);
let at = 0;
for (const group of modelJson.weightsManifest)
  for (const w of group.weights) {
    if (w.dtype !== 'float32' || w.quantization) throw new Error(`${w.name}: expected unquantised float32`);
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
    const x = floats.subarray(at, at + n);
    if (uint8) {
      let [min, max] = [Infinity, -Infinity];
      for (const v of x) [min, max] = [Math.min(min, v), Math.max(max, v)];
      const scale = max > min ? (max - min) / 255 : 1;
      for (let i = 0; i < n; i++) bytes[at + i] = Math.round((x[i] - min) / scale);
      w.quantization = { dtype: 'uint8', min, scale, original_dtype: 'float32' };
    } else {
      for (let i = 0; i < n; i++) halves[at + i] = toHalf(x[i]);
      w.quantization = { dtype: 'float16', original_dtype: 'float32' };
    }
    at += n;
  }
if (at !== floats.length) throw new Error(`the manifest covers ${at} of ${floats.length} weights`);
const packed = uint8 ? bytes : new Uint8Array(halves.buffer);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'weights.bin.tmp'), packed);
writeFileSync(join(outDir, 'model.json.tmp'), JSON.stringify(modelJson));
renameSync(join(outDir, 'weights.bin.tmp'), join(outDir, 'weights.bin'));
renameSync(join(outDir, 'model.json.tmp'), join(outDir, 'model.json'));

await initBackend({ backend: 'wasm' });
const [a, b] = [await loadStyleNetwork(inDir), await loadStyleNetwork(outDir)];
const photo = resize(await images.load('chelsea'), [128, 192]);
const [ya, yb] = [applyStyleNetwork(a, photo), applyStyleNetwork(b, photo)];
const diff = tf.max(tf.abs(tf.sub(ya, yb)));
console.log(
  `${floats.length} weights, ${bin.byteLength} -> ${packed.byteLength} bytes; ` +
    `largest output difference on chelsea ${(await diff.data())[0].toExponential(2)}`,
);
tf.dispose([photo, ya, yb, diff]);
a.dispose();
b.dispose();
