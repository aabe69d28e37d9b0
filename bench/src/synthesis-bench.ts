/**
 * Synthesis benchmarks: cnnviz (WASM + cnnviz's kernel fixes) against the same loop written with
 * stock TF.js. Stock WASM cannot take these gradients (no DepthwiseConv2dNativeBackpropInput /
 * Conv2DBackpropFilter): the 'stock-wasm' row tries one step and reports the error, and the
 * 'stock' row runs the loop on the stock CPU backend with fewer steps, extrapolated linearly from
 * the median step (the table says so). Every variant runs in its own process.
 *
 *   npx tsx --tsconfig tsconfig.json bench/src/synthesis-bench.ts [--repeat 3] [--cases style,dream,fast]
 *   npx tsx --tsconfig tsconfig.json bench/src/synthesis-bench.ts --case style --variant cnnviz
 *
 * Cases: style (transferStyle 256 px, 100 Adam steps, MobileNetV2 features, the zoo entry's
 * default layers), dream (deepDream, 3 octaves of 10 steps at 320 px, the entry's dream layer),
 * fast (applyStyleNetwork 256 px, median of 10). cnnviz rows are the median of `--repeat` runs
 * (default 3; min–max beside it). Wall time is shared-machine time; CPU time (user + system of
 * the process) is what the work cost, the steadier figure when other processes share the cores.
 * Ratio = stock / cnnviz. Writes bench/results/synthesis.json and prints a markdown table with the
 * load average (`uptime`) before and after each case.
 */
import { spawnSync } from 'node:child_process';
import type * as tfl from '@tensorflow/tfjs-layers';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

type CaseName = 'style' | 'dream' | 'fast';
type VariantName = 'cnnviz' | 'cnnviz-pixel' | 'stock-wasm' | 'stock';

interface Result {
  case: CaseName;
  variant: VariantName;
  backend: string;
  /** Steps actually run, and the steps the figure stands for. */
  ran: number;
  of: number;
  wallMs: number;
  cpuMs: number;
  /** Min and max wall time over the repeats (cnnviz rows). */
  wallRange?: [number, number];
  peakRssMiB: number;
  note?: string;
  error?: string;
}

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const targets: Record<CaseName, { label: string; targetMs: number; reference?: string }> = {
  style: {
    label: 'transferStyle 256 px, 100 steps',
    targetMs: 20_000,
    reference: 'PyTorch CPU, same backbone, 2 threads: 4.7 s (ASSETS.md)',
  },
  dream: { label: 'deepDream 3 octaves x 10 steps, 320 px', targetMs: 30_000 },
  fast: { label: 'applyStyleNetwork 256 px (median of 10)', targetMs: 300 },
};

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

async function child(caseName: CaseName, variant: VariantName, repeat: number): Promise<Result> {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend } = await import('@cnnviz/node');
  const { images, zoo, zooEntries, loadNsfwjsBackbone } = await import('@cnnviz/models');
  const { resize, run } = await import('@cnnviz/core');
  const synthesis = await import('@cnnviz/synthesis');
  const stock = variant === 'stock' || variant === 'stock-wasm';
  if (stock) {
    // Stock TF.js: a backend package and nothing of cnnviz's kernel fixes.
    await import('@tensorflow/tfjs-backend-cpu');
    await import('@tensorflow/tfjs-backend-wasm');
    await import('@tensorflow/tfjs-layers');
    await tf.setBackend(variant === 'stock-wasm' ? 'wasm' : 'cpu');
  } else {
    await initBackend({ backend: 'wasm', strict: true });
  }
  const backend = tf.getBackend();
  const clock = () => {
    const w = performance.now();
    const c = process.cpuUsage();
    return () => ({
      wallMs: performance.now() - w,
      cpuMs: (() => {
        const d = process.cpuUsage(c);
        return (d.user + d.system) / 1000;
      })(),
    });
  };
  const peak = () => process.resourceUsage().maxRSS / 1024;
  const base = { case: caseName, variant, backend };
  /** Median of `repeat` timed runs of `once` (after `warm`), with the wall-time range. */
  const repeated = async (warm: () => Promise<void>, once: () => Promise<void>) => {
    await warm();
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const t = clock();
      await once();
      const m = t();
      walls.push(m.wallMs);
      cpus.push(m.cpuMs);
    }
    return {
      wallMs: median(walls),
      cpuMs: median(cpus),
      wallRange: [Math.min(...walls), Math.max(...walls)] as [number, number],
    };
  };
  /** Per-step median of a stock loop, extrapolated to `of` steps; 'stock-wasm' runs one step. */
  const stockSteps = (step: () => void, of: number) => {
    step(); // warm-up (on stock wasm this is where the missing kernel throws)
    const n = variant === 'stock-wasm' ? 1 : Number(arg('steps') ?? 3);
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = clock();
      step();
      const m = t();
      walls.push(m.wallMs);
      cpus.push(m.cpuMs);
    }
    return { ran: n, wallMs: median(walls) * of, cpuMs: median(cpus) * of };
  };
  const mobilenet = zooEntries.mobilenetV2Features.layersOfInterest;

  if (caseName === 'style') {
    const content = resize(await images.load('astronaut'), [256, 256]);
    const style = await images.load('starry_night');
    const contentLayer = mobilenet.content;
    const styleLayers = mobilenet.style;
    if (!stock) {
      const model = await zoo.mobilenetV2Features({ inputSize: 256 });
      const param = variant === 'cnnviz-pixel' ? 'pixel' : 'fourier';
      // The user's call: the zoo entry's default layers and weights.
      const go = (steps: number) =>
        run(synthesis.transferStyle(model, content, [{ image: style, weight: 1 }], { steps, param })).then(
          (s) => s.image?.dispose(),
        );
      // Warm-up: kernels compile and caches fill on the first steps.
      const m = await repeated(
        () => go(2),
        () => go(100),
      );
      return { ...base, ran: 100, of: 100, ...m, peakRssMiB: peak(), note: `param ${param}, default layers` };
    }
    // The same Gatys loop in plain TF.js: multi-output LayersModel, Gram matrices, Adam on pixels.
    const layers = await import('@tensorflow/tfjs-layers');
    const net = await loadNsfwjsBackbone('mobilenet_v2', 'out_relu', 256);
    const names = [contentLayer, ...styleLayers.filter((l) => l !== contentLayer)];
    const taps = layers.model({
      inputs: net.inputs,
      outputs: names.map((l) => net.getLayer(l).output as tfl.SymbolicTensor),
    });
    const styleIndex = styleLayers.map((l) => names.indexOf(l));
    const gram = (a: any) =>
      tf.tidy(() => {
        const [, h, w, c] = a.shape;
        const f = tf.reshape(a, [h * w, c]);
        return tf.div(tf.matMul(f, f, true, false), h * w);
      });
    const feats = (x: any) => taps.apply(x) as any[];
    const x0 = tf.expandDims(content, 0);
    const contentT = tf.tidy(() => tf.keep(feats(x0)[0]));
    const styleG = tf.tidy(() => {
      const o = feats(tf.expandDims(resize(style, [256, 256]), 0));
      return styleIndex.map((i) => tf.keep(gram(o[i])));
    });
    const img = tf.variable(x0.clone());
    const opt = tf.train.adam(0.02);
    const rel = (a: any, b: any) => tf.div(tf.sum(tf.square(tf.sub(a, b))), tf.sum(tf.square(b)));
    const tv = (x: any) => {
      const [, h, w] = x.shape;
      const dy = tf.sub(
        tf.slice(x, [0, 1, 0, 0], [-1, h - 1, -1, -1]),
        tf.slice(x, [0, 0, 0, 0], [-1, h - 1, -1, -1]),
      );
      const dx = tf.sub(
        tf.slice(x, [0, 0, 1, 0], [-1, -1, w - 1, -1]),
        tf.slice(x, [0, 0, 0, 0], [-1, -1, w - 1, -1]),
      );
      return tf.add(tf.mean(tf.square(dy)), tf.mean(tf.square(dx)));
    };
    const step = () => {
      const loss = opt.minimize(
        () => {
          const o = feats(img);
          let l = rel(o[0], contentT);
          styleIndex.forEach((i, k) => {
            l = tf.add(l, tf.mul(rel(gram(o[i]), styleG[k]), 100 / styleLayers.length));
          });
          return tf.add(l, tf.mul(tv(img), 10)) as any;
        },
        true,
        [img],
      );
      img.assign(tf.clipByValue(img, 0, 1));
      loss?.dataSync();
      loss?.dispose();
    };
    const m = stockSteps(step, 100);
    return {
      ...base,
      of: 100,
      ...m,
      peakRssMiB: peak(),
      note: `stock ${backend}, median of ${m.ran} step(s) x 100, pixel Adam, same layers`,
    };
  }

  if (caseName === 'dream') {
    const cat = await images.load('chelsea');
    const [h, w] = cat.shape;
    const k = 320 / Math.max(h, w);
    const img = resize(cat, [Math.round(h * k), Math.round(w * k)]);
    const layer = mobilenet.dream[0];
    if (!stock) {
      const model = await zoo.mobilenetV2Features({ inputSize: 320 });
      const go = (octaves: number, steps: number) =>
        run(synthesis.deepDream(model, img, { octaves, octaveScale: 1.4, steps })).then((s) =>
          s.image?.dispose(),
        );
      const m = await repeated(
        () => go(1, 2),
        () => go(3, 10),
      );
      return { ...base, ran: 30, of: 30, ...m, peakRssMiB: peak(), note: `default layer ${layer}` };
    }
    // Stock loop: one backbone per octave size (LayersModels have fixed input shapes), roll, tf.grad, normalise.
    const layers = await import('@tensorflow/tfjs-layers');
    let wall = 0;
    let cpu = 0;
    let ran = 0;
    let current: any = null;
    let baseImg: any = null;
    for (let o = 2; o >= 0; o--) {
      const f = 1.4 ** o;
      const size: [number, number] = [Math.round(img.shape[0] / f), Math.round(img.shape[1] / f)];
      const net = await loadNsfwjsBackbone('mobilenet_v2', 'out_relu', Math.max(...size));
      const tap = layers.model({
        inputs: net.inputs,
        outputs: net.getLayer(layer).output as tfl.SymbolicTensor,
      });
      const side = Math.max(...size);
      const nextBase = resize(img, size);
      const next = current ? tf.add(nextBase, resize(tf.sub(current, baseImg), size)) : nextBase.clone();
      current?.dispose();
      baseImg?.dispose();
      current = next;
      baseImg = nextBase;
      const step = () => {
        const x = tf.tidy(() => {
          const padded = tf.pad(tf.expandDims(current, 0), [
            [0, 0],
            [0, side - size[0]],
            [0, side - size[1]],
            [0, 0],
          ]);
          const g = tf.grad((t: any) => tf.mean(tf.square(tap.apply(t) as any)))(padded);
          const gs = tf.slice(g, [0, 0, 0, 0], [1, size[0], size[1], 3]);
          return tf.squeeze(
            tf.clipByValue(
              tf.add(current, tf.mul(tf.div(gs, tf.add(tf.mean(tf.abs(gs)), 1e-8)), 0.01)),
              0,
              1,
            ),
            [0],
          );
        });
        current.dispose();
        current = x;
        (x as any).dataSync();
      };
      const m = stockSteps(step, 10);
      wall += m.wallMs;
      cpu += m.cpuMs;
      ran += m.ran;
      net.dispose();
    }
    return {
      ...base,
      ran,
      of: 30,
      wallMs: wall,
      cpuMs: cpu,
      peakRssMiB: peak(),
      note: `stock ${backend}, median step per octave x 10`,
    };
  }

  // fast: one forward pass of the bundled style network.
  const net = await synthesis.loadBundledStyleNetwork('starry_night');
  const img = resize(await images.load('astronaut'), [256, 256]);
  if (variant === 'stock') {
    // Stock: the LayersModel's own predict on stock WASM (a forward pass needs no kernel fix).
    await tf.setBackend('wasm');
  }
  const once = () => {
    const y = stock
      ? tf.tidy(() => net.model.predict(tf.expandDims(img, 0)) as any)
      : synthesis.applyStyleNetwork(net, img);
    y.dataSync();
    y.dispose();
  };
  for (let i = 0; i < 3; i++) once();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = clock();
    once();
    const m = t();
    walls.push(m.wallMs);
    cpus.push(m.cpuMs);
  }
  return {
    ...base,
    backend: tf.getBackend(),
    ran: 10,
    of: 1,
    wallMs: median(walls),
    cpuMs: median(cpus),
    wallRange: [Math.min(...walls), Math.max(...walls)],
    peakRssMiB: peak(),
    note: stock ? 'stock wasm LayersModel.predict' : undefined,
  };
}

function writeResults(rows: Result[], repeat: number): string {
  const out = fileURLToPath(new URL('../results/synthesis.json', import.meta.url));
  const json = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    repeat,
    rows,
  };
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  return out;
}

function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

async function main() {
  const c = arg('case') as CaseName | undefined;
  const v = arg('variant') as VariantName | undefined;
  const repeat = Number(arg('repeat') ?? 3);
  if (c && v) {
    let r: Result;
    try {
      r = await child(c, v, repeat);
    } catch (e) {
      r = {
        case: c,
        variant: v,
        backend: v === 'stock-wasm' ? 'wasm' : '?',
        ran: 0,
        of: 0,
        wallMs: NaN,
        cpuMs: NaN,
        peakRssMiB: NaN,
        error: (e as Error).message.split('\n')[0],
      };
    }
    console.log(`RESULT ${JSON.stringify(r)}`);
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const cases = (arg('cases') ?? 'style,dream,fast').split(',') as CaseName[];
  const rows: (Result & { loadBefore: string; loadAfter: string })[] = [];
  for (const cs of cases) {
    const variants: VariantName[] =
      cs === 'style'
        ? ['cnnviz', 'cnnviz-pixel', 'stock-wasm', 'stock']
        : cs === 'dream'
          ? ['cnnviz', 'stock-wasm', 'stock']
          : ['cnnviz', 'stock'];
    for (const vr of variants) {
      const loadBefore = loadAverage();
      const p = spawnSync(
        process.execPath,
        [
          ...process.execArgv,
          self,
          '--case',
          cs,
          '--variant',
          vr,
          '--repeat',
          String(repeat),
          ...(arg('steps') ? ['--steps', arg('steps') as string] : []),
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const line = (p.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
      const r: Result = line
        ? JSON.parse(line.slice(7))
        : {
            case: cs,
            variant: vr,
            backend: '?',
            ran: 0,
            of: 0,
            wallMs: NaN,
            cpuMs: NaN,
            peakRssMiB: NaN,
            error: (p.stderr ?? '').trim().split('\n').slice(-1)[0],
          };
      rows.push({ ...r, loadBefore, loadAfter: loadAverage() });
      // Written after every variant, so a long run that stops still leaves its figures.
      writeResults(rows, repeat);
      console.error(
        `${cs}/${vr}: ${r.error ?? `${(r.wallMs / 1000).toFixed(2)} s wall, ${(r.cpuMs / 1000).toFixed(2)} s cpu`} (load ${loadAverage()})`,
      );
    }
  }
  const fmt = (ms: number | null | undefined) =>
    typeof ms !== 'number' || !Number.isFinite(ms)
      ? '—'
      : ms >= 1000
        ? `${(ms / 1000).toFixed(2)} s`
        : `${ms.toFixed(0)} ms`;
  const ratio = (a: number | null, b: number | null) => {
    const q = typeof a === 'number' && typeof b === 'number' ? a / b : NaN;
    return Number.isFinite(q) ? `${q.toFixed(q >= 10 ? 0 : 1)}x` : '—';
  };
  console.log(
    '\n| case | variant | backend | wall (median) | range | cpu | stock / cnnviz (wall, cpu) | target | peak RSS | load before → after | note |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const t = targets[r.case];
    const ours = rows.find((x) => x.case === r.case && x.variant === 'cnnviz');
    const vs =
      r.variant.startsWith('stock') && ours
        ? `${ratio(r.wallMs, ours.wallMs)}, ${ratio(r.cpuMs, ours.cpuMs)}`
        : '';
    const range = r.wallRange ? `${fmt(r.wallRange[0])}–${fmt(r.wallRange[1])}` : '';
    const target = r.variant.startsWith('cnnviz')
      ? `≤ ${fmt(t.targetMs)}: ${r.wallMs <= t.targetMs ? 'met' : r.cpuMs <= t.targetMs ? 'met in cpu time' : 'no'}`
      : '';
    console.log(
      `| ${t.label} | ${r.variant} | ${r.backend} | ${fmt(r.wallMs)} | ${range} | ${fmt(r.cpuMs)} | ${vs} | ${target} | ${Number.isFinite(r.peakRssMiB) ? `${r.peakRssMiB.toFixed(0)} MiB` : '—'} | ${r.loadBefore} → ${r.loadAfter} | ${r.error ? `failed: ${r.error}` : (r.note ?? '')} |`,
    );
  }
  for (const cs of cases)
    if (targets[cs].reference) console.log(`\nreference (${cs}): ${targets[cs].reference}`);
  console.log(`\nload average at the end: ${loadAverage()} on ${cpus().length} cores; repeats ${repeat}`);
  console.log(`wrote ${writeResults(rows, repeat)}`);
}

await main();
