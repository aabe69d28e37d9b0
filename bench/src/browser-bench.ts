// Per-technique timings of the playground's techniques in headless Chromium, on WebGL, WebGPU and
// (for comparison) the WASM backend the page picks by itself when the GPU is a software one.
// A benchmark, not a test:
//   npx tsx bench/src/browser-bench.ts [--modes webgl,webgpu,auto] [--repeats 3] [--model fashionCnn]
// Prints the median wall time per technique (after an untimed warm-up run that compiles shaders)
// and writes bench/results/browser/chromium.json (a folder of its own: run.ts reads the JSON files
// beside README.md as its own results).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildAndServe,
  launchChromium,
  openPage,
  waitForState,
} from '../../examples/playground/src/e2e/harness.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const modes = opt('modes', 'webgl,webgpu,auto').split(',');
const repeats = Number(opt('repeats', '3'));
const model = opt('model', 'fashionCnn');
const image = model === 'fashionCnn' ? 'fashion-sneaker' : 'chelsea';

/** Technique, steps (iterative ones), and whether a run is long enough that one repeat and no warm-up do. */
const PLAN: { technique: string; steps?: number; long?: boolean }[] = [
  { technique: 'saliency' },
  { technique: 'gradcam' },
  { technique: 'guided' },
  { technique: 'occlusion' },
  { technique: 'deepdream', steps: 20 },
  { technique: 'style', steps: 40 },
  { technique: 'adversarial', steps: 20 },
  { technique: 'tsne', steps: 300, long: true },
];

/** What the lab page's `bench` hook returns (examples/playground/src/lab.ts). */
interface BenchReport {
  backend: string;
  technique: string;
  model: string;
  steps: number | undefined;
  ms: number[];
}

interface LabWindow {
  lab: {
    info: { name: string };
    bench(...a: unknown[]): Promise<BenchReport>;
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const served = await buildAndServe();
const rows: (BenchReport & { median: number; msPerStep?: number; mode: string })[] = [];
const load0 = loadavg();
try {
  for (const mode of modes) {
    const browser = await launchChromium(mode === 'webgl' ? 'webgl' : 'webgpu');
    try {
      const query = mode === 'auto' ? '' : `?backend=${mode}`;
      const { page } = await openPage(browser, `${served.url}lab.html${query}`);
      if ((await waitForState(page, ['ready', 'error'])) !== 'ready') {
        throw new Error(`lab page failed on ${mode}: ${await page.getAttribute('body', 'data-error')}`);
      }
      const backend = await page.evaluate(() => (window as unknown as LabWindow).lab.info.name);
      console.log(`\n== ${mode} (backend ${backend}), model ${model}, median of ${repeats}`);
      for (const p of PLAN) {
        const r = await page.evaluate(
          (a) => (window as unknown as LabWindow).lab.bench(...a),
          [p.technique, model, image, p.steps, p.long ? 1 : repeats, p.long ? 0 : 1],
        );
        const med = median(r.ms);
        const row = { ...r, mode, median: med, ...(p.steps ? { msPerStep: med / p.steps } : {}) };
        rows.push(row);
        console.log(
          `${p.technique.padEnd(12)} ${med.toFixed(0).padStart(7)} ms${p.steps ? `  (${(med / p.steps).toFixed(1)} ms/step, ${p.steps} steps)` : ''}`,
        );
      }
    } finally {
      await browser.close();
    }
  }
} finally {
  await served.close();
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'browser');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'chromium.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        loadavgBefore: load0,
        loadavgAfter: loadavg(),
      },
      browser: 'Debian chromium, headless; WebGL on SwiftShader, WebGPU on the SwiftShader fallback adapter',
      rows,
    },
    null,
    2,
  ) + '\n',
);
