/**
 * Synthesis benchmarks: cnnviz (WASM + cnnviz's kernel fixes) against the same loop written with
 * stock TF.js. Stock WASM cannot take these gradients (no DepthwiseConv2dNativeBackpropInput,
 * Conv2DBackpropFilter), so the stock loops run on the stock CPU backend with fewer steps and the
 * time is extrapolated linearly (said in the table). Every case runs in its own process.
 *
 *   npx tsx --tsconfig tsconfig.json bench/src/synthesis-bench.ts            # all cases
 *   npx tsx --tsconfig tsconfig.json bench/src/synthesis-bench.ts --case style --variant cnnviz
 *
 * Cases: style (transferStyle 256 px, 100 Adam steps, MobileNetV2 features), dream (deepDream,
 * 3 octaves of 10 steps at 320 px, block_13_expand_relu), fast (applyStyleNetwork 256 px).
 * Wall time is shared-machine time; CPU time (user + system of this process) is what the work
 * cost, the better figure when other processes compete for the cores.
 */
import { spawnSync } from 'node:child_process';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fileURLToPath } from 'node:url';

type CaseName = 'style' | 'dream' | 'fast';
type VariantName = 'cnnviz' | 'cnnviz-pixel' | 'stock';

interface Result {
  case: CaseName;
  variant: VariantName;
  backend: string;
  /** Steps actually run, and the steps the figure stands for. */
  ran: number;
  of: number;
  wallMs: number;
  cpuMs: number;
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

async function child(caseName: CaseName, variant: VariantName): Promise<Result> {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend } = await import('@cnnviz/node');
  const { images, zoo, loadNsfwjsBackbone } = await import('@cnnviz/models');
  const { resize, run } = await import('@cnnviz/core');
  const synthesis = await import('@cnnviz/synthesis');
  const stock = variant === 'stock';
  if (stock) {
    // Stock TF.js: a backend package and nothing of cnnviz's kernel fixes.
    await import('@tensorflow/tfjs-backend-cpu');
    await import('@tensorflow/tfjs-layers');
    await tf.setBackend('cpu');
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

  if (caseName === 'style') {
    const content = resize(await images.load('astronaut'), [256, 256]);
    const style = await images.load('starry_night');
    const contentLayer = 'block_6_expand_relu';
    const styleLayers = [
      'Conv1_relu',
      'block_1_expand_relu',
      'block_3_expand_relu',
      'block_6_expand_relu',
      'block_13_expand_relu',
    ];
    if (!stock) {
      const model = await zoo.mobilenetV2Features({ inputSize: 256 });
      const param = variant === 'cnnviz-pixel' ? 'pixel' : 'fourier';
      // Warm-up: kernels compile and caches fill on the first steps.
      await run(
        synthesis.transferStyle(model, content, [{ image: style, weight: 1 }], {
          steps: 2,
          param,
          contentLayer,
          styleLayers,
        }),
      ).then((s) => s.image?.dispose());
      const t = clock();
      const r = await run(
        synthesis.transferStyle(model, content, [{ image: style, weight: 1 }], {
          steps: 100,
          param,
          contentLayer,
          styleLayers,
        }),
      );
      const m = t();
      r.image?.dispose();
      return { ...base, ran: 100, of: 100, ...m, peakRssMiB: peak(), note: `param ${param}` };
    }
    // The same Gatys loop in plain TF.js: multi-output LayersModel, Gram matrices, Adam on pixels.
    const layers = await import('@tensorflow/tfjs-layers');
    const net = await loadNsfwjsBackbone('mobilenet_v2', 'out_relu', 256);
    const taps = layers.model({
      inputs: net.inputs,
      outputs: styleLayers.map((l) => net.getLayer(l).output as tfl.SymbolicTensor),
    });
    // The content layer is one of the style layers: outputs must be unique in a LayersModel.
    const contentIndex = styleLayers.indexOf(contentLayer);
    const gram = (a: any) =>
      tf.tidy(() => {
        const [, h, w, c] = a.shape;
        const f = tf.reshape(a, [h * w, c]);
        return tf.div(tf.matMul(f, f, true, false), h * w);
      });
    const feats = (x: any) => {
      const o = taps.apply(x) as any[];
      return [o[contentIndex], ...o];
    };
    const x0 = tf.expandDims(content, 0);
    const targetsT = tf.tidy(() => {
      const o = feats(x0);
      return [o[0], ...o.slice(1).map(gram)].map((t) => tf.keep(t));
    });
    const styleG = tf.tidy(() =>
      feats(tf.expandDims(resize(style, [256, 256]), 0))
        .slice(1)
        .map(gram),
    );
    const img = tf.variable(x0.clone());
    const opt = tf.train.adam(0.02);
    const rel = (a: any, b: any) => tf.div(tf.sum(tf.square(tf.sub(a, b))), tf.sum(tf.square(b)));
    const step = () => {
      const loss = opt.minimize(
        () => {
          const o = feats(img);
          let l = rel(o[0], targetsT[0]);
          o.slice(1).forEach((a: any, i: number) => {
            l = tf.add(l, tf.mul(rel(gram(a), styleG[i]), 100 / styleLayers.length));
          });
          return l as any;
        },
        true,
        [img],
      );
      img.assign(tf.clipByValue(img, 0, 1));
      loss?.dataSync();
      loss?.dispose();
    };
    step(); // warm-up
    const n = Number(arg('steps') ?? 3);
    const t = clock();
    for (let i = 0; i < n; i++) step();
    const m = t();
    return {
      ...base,
      ran: n,
      of: 100,
      wallMs: (m.wallMs * 100) / n,
      cpuMs: (m.cpuMs * 100) / n,
      peakRssMiB: peak(),
      note: `stock cpu, ${n} steps extrapolated to 100`,
    };
  }

  if (caseName === 'dream') {
    const cat = await images.load('chelsea');
    const [h, w] = cat.shape;
    const k = 320 / Math.max(h, w);
    const img = resize(cat, [Math.round(h * k), Math.round(w * k)]);
    const layer = 'block_13_expand_relu';
    if (!stock) {
      const model = await zoo.mobilenetV2Features({ inputSize: 320 });
      await run(synthesis.deepDream(model, img, { layer, octaves: 1, steps: 2 })).then((s) =>
        s.image?.dispose(),
      );
      const t = clock();
      const r = await run(
        synthesis.deepDream(model, img, { layer, octaves: 3, octaveScale: 1.4, steps: 10 }),
      );
      const m = t();
      r.image?.dispose();
      return { ...base, ran: 30, of: 30, ...m, peakRssMiB: peak() };
    }
    // Stock loop: one backbone per octave size (LayersModels have fixed input shapes), roll, tf.grad, normalise.
    const layers = await import('@tensorflow/tfjs-layers');
    let wall = 0;
    let cpu = 0;
    let current: any = null;
    let baseImg: any = null;
    const perOctave = Number(arg('steps') ?? 1);
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
      step(); // warm-up at this size
      const t = clock();
      for (let i = 0; i < perOctave; i++) step();
      const m = t();
      wall += (m.wallMs * 10) / perOctave;
      cpu += (m.cpuMs * 10) / perOctave;
      net.dispose();
    }
    return {
      ...base,
      ran: 3 * perOctave,
      of: 30,
      wallMs: wall,
      cpuMs: cpu,
      peakRssMiB: peak(),
      note: `stock cpu, ${perOctave} step(s) per octave extrapolated to 10`,
    };
  }

  // fast: one forward pass of the bundled style network.
  const net = await synthesis.loadBundledStyleNetwork('starry_night');
  const img = resize(await images.load('astronaut'), [256, 256]);
  if (stock) {
    // Stock: the LayersModel's own predict on stock WASM (a forward pass needs no kernel fix).
    await import('@tensorflow/tfjs-backend-wasm');
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
  const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  return {
    ...base,
    backend: tf.getBackend(),
    ran: 10,
    of: 1,
    wallMs: med(walls),
    cpuMs: med(cpus),
    peakRssMiB: peak(),
    note: stock ? 'stock wasm LayersModel.predict' : undefined,
  };
}

async function main() {
  const c = arg('case') as CaseName | undefined;
  const v = arg('variant') as VariantName | undefined;
  if (c && v) {
    let r: Result;
    try {
      r = await child(c, v);
    } catch (e) {
      r = {
        case: c,
        variant: v,
        backend: '?',
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
  const rows: Result[] = [];
  for (const cs of cases) {
    const variants: VariantName[] =
      cs === 'style' ? ['cnnviz', 'cnnviz-pixel', 'stock'] : ['cnnviz', 'stock'];
    for (const vr of variants) {
      const p = spawnSync(
        process.execPath,
        [
          ...process.execArgv,
          self,
          '--case',
          cs,
          '--variant',
          vr,
          ...(arg('steps') ? ['--steps', arg('steps') as string] : []),
        ],
        {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        },
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
      rows.push(r);
      console.error(
        `${cs}/${vr}: ${r.error ?? `${(r.wallMs / 1000).toFixed(2)} s wall, ${(r.cpuMs / 1000).toFixed(2)} s cpu`}`,
      );
    }
  }
  const fmt = (ms: number | null) =>
    ms === null || Number.isNaN(ms)
      ? '—'
      : ms >= 1000
        ? `${(ms / 1000).toFixed(2)} s`
        : `${ms.toFixed(0)} ms`;
  console.log('\n| case | variant | backend | wall | cpu | target | peak RSS | note |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const t = targets[r.case];
    console.log(
      `| ${t.label} | ${r.variant} | ${r.backend} | ${fmt(r.wallMs)} | ${fmt(r.cpuMs)} | ${r.variant.startsWith('cnnviz') ? `≤ ${fmt(t.targetMs)}` : ''} | ${r.peakRssMiB === null || Number.isNaN(r.peakRssMiB) ? '—' : `${r.peakRssMiB.toFixed(0)} MiB`} | ${r.error ? `failed: ${r.error}` : (r.note ?? '')} |`,
    );
  }
  for (const cs of cases)
    if (targets[cs].reference) console.log(`\nreference (${cs}): ${targets[cs].reference}`);
  console.log(
    `\nload average at the end: ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${(await import('node:os')).cpus().length} cores`,
  );
}

await main();
