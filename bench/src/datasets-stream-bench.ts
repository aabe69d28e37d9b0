/**
 * @cnnviz/datasets streaming extraction (issue 19 targets, Node, 2 cores): peak RSS <= 2 GB and flat
 * in N, throughput >= 90 % of in-memory `extractFeatures` on the same images.
 *
 *   cd bench && npx tsx --tsconfig ../tsconfig.json src/datasets-stream-bench.ts [--n 10000,30000]
 *        [--memory-n 10000] [--model fashion-cnn] [--layer dense1] [--size 32] [--batch 64]
 *        [--dir /tmp/cnnviz-stream-bench] [--table NAME] [--repeat 2]
 *
 * Images: Fashion-MNIST's bundled 1,000 test images, augmented (shifted by up to 2 px, mirrored) to
 * N PNG files in class folders. Each variant runs in its own Node process (peak RSS is its own):
 * `memory` decodes every file into tensors, then runs `extractFeatures` over them; `stream` runs
 * `extractToStore` from the folder into a fresh LanceDB table. Both include reading and decoding.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

export interface StreamBenchOptions {
  n: number[];
  memoryN: number;
  model: string;
  layer?: string;
  size?: number;
  batch: number;
  dir: string;
  table?: string;
  /** Alternating stream / memory pairs at `memoryN`. */
  repeat: number;
}

export interface VariantResult {
  mode: 'memory' | 'stream';
  n: number;
  seconds: number;
  imagesPerSecond: number;
  /** CPU seconds of the process (all threads): the work done, less sensitive to a shared machine's load than wall time. */
  cpuSeconds: number;
  imagesPerCpuSecond: number;
  peakRssMB: number;
  load: number;
}

/** N augmented Fashion-MNIST PNGs under dir/images-N (reused when present). */
async function makeImages(dir: string, n: number): Promise<string> {
  const out = join(dir, `images-${n}`);
  if (existsSync(join(out, '.done'))) return out;
  rmSync(out, { recursive: true, force: true });
  await import('@tensorflow/tfjs-backend-cpu');
  const tf = await import('@tensorflow/tfjs-core');
  await tf.setBackend('cpu');
  const { datasets } = await import('../../packages/models/src/index.js');
  const data = await datasets.fashionMnistTest1k();
  const px = (await data.images.data()) as Float32Array;
  const labels = data.labels;
  data.dispose();
  const base = labels.length;
  for (let c = 0; c < 10; c++)
    mkdirSync(join(out, data.classNames[c].replace(/[^A-Za-z0-9]/g, '_')), { recursive: true });
  for (let i = 0; i < n; i++) {
    const b = i % base;
    const k = Math.floor(i / base);
    const dx = (k % 5) - 2;
    const dy = (Math.floor(k / 5) % 5) - 2;
    const flip = Math.floor(k / 25) % 2 === 1;
    const png = new PNG({ width: 28, height: 28 });
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        let sx = x - dx;
        const sy = y - dy;
        if (flip) sx = 27 - sx;
        const v = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? px[b * 784 + sy * 28 + sx] : 0;
        const o = (y * 28 + x) * 4;
        png.data[o] = png.data[o + 1] = png.data[o + 2] = Math.round(v * 255);
        png.data[o + 3] = 255;
      }
    const cls = data.classNames[labels[b]].replace(/[^A-Za-z0-9]/g, '_');
    writeFileSync(join(out, cls, `${String(i).padStart(7, '0')}.png`), PNG.sync.write(png));
  }
  writeFileSync(join(out, '.done'), '');
  return out;
}

/** One variant in this process (the child's job). */
async function variant(
  mode: 'memory' | 'stream',
  images: string,
  o: StreamBenchOptions,
  n: number,
): Promise<VariantResult> {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend, readImage } = await import('../../packages/node-adapter/src/index.js');
  const { zoo } = await import('../../packages/models/src/index.js');
  const { extractFeatures } = await import('../../packages/embedding/src/index.js');
  const { extractToStore, listImages } = await import('../../packages/datasets/src/index.js');
  const { resize } = await import('../../packages/core/src/index.js');
  await initBackend({});
  const model =
    o.model === 'mobilenet-v2'
      ? await zoo.mobilenetV2Features({ inputSize: o.size ?? 32 })
      : await zoo.fashionCnn();
  const channels = model.inputShape[2] === 1 ? 1 : 3;
  const side = model.inputShape[0] ?? o.size ?? 32;
  // Peak RSS sampled here: getrusage's maxRSS of a forked child starts at its parent's RSS.
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  if (mode === 'memory') {
    const files = (await listImages(images)).map((e) => e.path);
    const all: import('@tensorflow/tfjs-core').Tensor3D[] = [];
    for (const f of files) {
      const img = await readImage(readFileSync(f), { channels });
      if (img.shape[0] !== side) {
        all.push(resize(img, [side, side]));
        img.dispose();
      } else all.push(img);
    }
    const feats = await extractFeatures(model, all, { layer: o.layer, batchSize: o.batch });
    tf.dispose(all);
    feats.dispose();
  } else {
    const store = join(o.dir, 'store');
    const table = o.table ?? `stream_${o.model}_${o.layer ?? 'logits'}_${n}`;
    rmSync(join(store, `${table}.lance`), { recursive: true, force: true });
    await extractToStore(model, images, {
      store,
      table,
      modelName: o.model,
      layer: o.layer,
      size: o.size,
      batchSize: o.batch,
    });
  }
  const seconds = (performance.now() - start) / 1000;
  const c = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const cpuSeconds = (c.user + c.system) / 1e6;
  return {
    mode,
    n,
    seconds,
    imagesPerSecond: n / seconds,
    cpuSeconds,
    imagesPerCpuSecond: n / cpuSeconds,
    peakRssMB: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20,
    load: loadavg()[0],
  };
}

export async function streamBench(o: StreamBenchOptions): Promise<VariantResult[]> {
  const results: VariantResult[] = [];
  const self = fileURLToPath(import.meta.url);
  const run = (mode: string, n: number) => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', self, '--child', mode, '--n', String(n), ...passOn],
      {
        encoding: 'utf8',
        env: process.env,
        maxBuffer: 1 << 26,
      },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{'))
      throw new Error(`${mode} ${n} failed: ${r.stderr.slice(-2000)}`);
    const res = JSON.parse(line) as VariantResult;
    console.log(
      `${mode.padEnd(6)} N=${n}: ${res.seconds.toFixed(1)} s, ${res.imagesPerSecond.toFixed(0)} img/s, CPU ${res.cpuSeconds.toFixed(1)} s (${res.imagesPerCpuSecond.toFixed(0)} img per CPU s), peak RSS ${res.peakRssMB.toFixed(0)} MB (load ${res.load.toFixed(1)})`,
    );
    results.push(res);
  };
  const passOn = ['--model', o.model, '--batch', String(o.batch), '--dir', o.dir];
  if (o.layer) passOn.push('--layer', o.layer);
  if (o.size) passOn.push('--size', String(o.size));
  if (o.table) passOn.push('--table', o.table);
  for (const n of [...new Set([o.memoryN, ...o.n])]) if (n > 0) await makeImages(o.dir, n);
  // Same images, alternating, so both see the same load.
  for (let r = 0; r < o.repeat && o.memoryN > 0; r++) {
    run('stream', o.memoryN);
    run('memory', o.memoryN);
  }
  for (const n of o.n) if (n !== o.memoryN) run('stream', n);
  return results;
}

function args(argv: string[]) {
  const get = (name: string, def?: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : def;
  };
  return {
    child: get('child') as 'memory' | 'stream' | undefined,
    o: {
      n: (get('n', '10000,30000') as string).split(',').map(Number),
      memoryN: Number(get('memory-n', '10000')),
      model: get('model', 'fashion-cnn')!,
      layer: get('layer', 'dense1'),
      size: get('size') ? Number(get('size')) : undefined,
      batch: Number(get('batch', '64')),
      dir: get('dir', '/tmp/cnnviz-stream-bench')!,
      table: get('table'),
      repeat: Number(get('repeat', '2')),
    } satisfies StreamBenchOptions,
  };
}

if (process.argv[1]?.endsWith('datasets-stream-bench.ts')) {
  const { child, o } = args(process.argv.slice(2));
  if (child) {
    const n = o.n[0];
    const res = await variant(child, join(o.dir, `images-${n}`), o, n);
    console.log(JSON.stringify(res));
  } else {
    const before = loadavg()[0];
    const res = await streamBench(o);
    console.log(JSON.stringify({ load: [before, loadavg()[0]], results: res }));
  }
  process.exit(0);
}
