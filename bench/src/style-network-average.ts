// Averages the weights of saved style networks of one architecture (checkpoints of one training run, e.g.
// train-style-network.ts --keep's OUT-stepN): Polyak / stochastic weight averaging. With batches of two 128 px crops
// and lr 0.002 consecutive checkpoints differ by more than the trend (held-out saturation 0.11 % at one, 0.59 % 25
// steps later), and the average of a run's late checkpoints is a steadier network than any one of them.
//
//   npx tsx --tsconfig tsconfig.json bench/src/style-network-average.ts OUT_DIR IN_DIR...
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [outDir, ...inDirs] = process.argv.slice(2);
if (!outDir || inDirs.length === 0) throw new Error('usage: style-network-average.ts OUT_DIR IN_DIR...');

interface Manifest {
  weightsManifest: { paths: string[]; weights: { name: string; dtype: string; shape: number[] }[] }[];
}
const models = inDirs.map((d) => JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')) as Manifest);
const layout = (m: Manifest) => JSON.stringify(m.weightsManifest.map((g) => g.weights));
for (const [i, m] of models.entries()) {
  if (layout(m) !== layout(models[0]))
    throw new Error(`${inDirs[i]} has other weights than ${inDirs[0]}: not checkpoints of one architecture`);
  if (m.weightsManifest.some((g) => g.paths.length !== 1 || g.weights.some((w) => w.dtype !== 'float32')))
    throw new Error(`${inDirs[i]}: expected saveStyleNetwork's output (float32, one weights file)`);
}
const sum = new Float64Array(readFileSync(join(inDirs[0], 'weights.bin')).byteLength / 4);
for (const d of inDirs) {
  const buf = readFileSync(join(d, 'weights.bin'));
  const w = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (w.length !== sum.length)
    throw new Error(`${d}/weights.bin has ${w.length} weights, expected ${sum.length}`);
  for (let i = 0; i < w.length; i++) sum[i] += w[i];
}
const mean = Float32Array.from(sum, (v) => v / inDirs.length);
mkdirSync(outDir, { recursive: true });
const write = (name: string, data: string | Uint8Array) => {
  writeFileSync(join(outDir, `${name}.tmp`), data);
  renameSync(join(outDir, `${name}.tmp`), join(outDir, name));
};
write('weights.bin', new Uint8Array(mean.buffer));
write('model.json', readFileSync(join(inDirs[0], 'model.json'), 'utf8'));
console.log(`${outDir}: mean of ${inDirs.length} networks (${mean.length} weights)`);
