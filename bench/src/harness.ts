import * as tf from '@tensorflow/tfjs-core';

/** The timed work; it must free every tensor it makes. */
export type Step = () => void | Promise<void>;

/** One way of running a benchmark (cnnviz or stock), measured in its own process so peak RSS is its own. */
export interface Variant {
  /** Shown in tables, e.g. 'cnnviz (wasm + fixes)'. */
  label: string;
  /** 'wasm', 'cpu' or 'webgpu'. */
  backend: string;
  /**
   * cnnviz's set-up: the backend as `@cnnviz/node`'s `initBackend` starts it (threaded WASM, self-test, kernel
   * fixes). Without: the stock TF.js backend package, nothing of cnnviz's.
   */
  fixes: boolean;
  /** Builds the model and returns the timed step. `quick` (bench --quick): a smaller problem, to check it runs. */
  setup(opts: { quick: boolean }): Promise<Step>;
  warmup?: number;
  iterations?: number;
  /** The step does 1/scale of the work the figure stands for (a naive loop timed on its first iterations). */
  scale?: number;
  /** Said beside the figure (what was extrapolated, what differs from the cnnviz variant). */
  note?: string;
}

/** A named benchmark: a cnnviz variant and stock variants in order of preference (first that runs is used). */
export interface Benchmark {
  name: string;
  /** attribution, synthesis, embedding, zoo, kernels or gpu: `npm run bench -- <suite>` runs a suite. */
  suite: string;
  description: string;
  cnnviz: Variant;
  /** Further cnnviz variants, measured and reported beside the main one (not used for the speed-up). */
  extras?: Variant[];
  stock: Variant[];
  /** Reference figures to print beside (e.g. PyTorch on the same cores). */
  reference?: { label: string; msLow: number; msHigh: number };
  targets?: { medianMs?: number; speedupVsStock?: number };
  /** Runs only where this is present ('gpu': a hardware WebGPU adapter through Dawn); skipped, and said so, elsewhere. */
  needs?: 'gpu';
}

export interface Measurement {
  label: string;
  backend: string;
  fixes: boolean;
  ok: boolean;
  error?: string;
  warmup: number;
  iterations: number;
  setupMs?: number;
  /** See Variant.scale / Variant.note. */
  scale?: number;
  note?: string;
  timesMs?: number[];
  /** Process CPU time (user + system) per iteration: on a shared machine the figure that load from other processes
   * inflates least. */
  cpuMs?: number[];
  medianCpuMs?: number;
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  /** Largest process.memoryUsage().rss sampled (after setup, after every iteration). */
  rssSampledMaxMiB?: number;
  /** process.resourceUsage().maxRSS: the true peak of this process. */
  peakRssMiB?: number;
  tensorsBefore?: number;
  tensorsAfter?: number;
}

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs a variant's setup, warm-up and timed iterations in this process. */
export async function measure(v: Variant): Promise<Measurement> {
  // BENCH_QUICK=1 (run.ts --quick): a smaller problem, one iteration and no warm-up, to check that everything runs.
  const quick = process.env.BENCH_QUICK === '1';
  const warmup = quick ? 0 : (v.warmup ?? 1);
  const iterations = quick ? 1 : (v.iterations ?? 5);
  const scale = v.scale ?? 1;
  const base = {
    label: v.label,
    backend: v.backend,
    fixes: v.fixes,
    warmup,
    iterations,
    ...(scale !== 1 ? { scale } : {}),
    ...(v.note ? { note: v.note } : {}),
  };
  let rssMax = 0;
  const sample = () => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  };
  try {
    const t0 = performance.now();
    const step = await v.setup({ quick });
    const setupMs = performance.now() - t0;
    sample();
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < warmup; i++) {
      await step();
      sample();
    }
    const timesMs: number[] = [];
    const cpuMs: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const s = performance.now();
      const c = process.cpuUsage();
      await step();
      const d = process.cpuUsage(c);
      timesMs.push((performance.now() - s) * scale);
      cpuMs.push(((d.user + d.system) / 1000) * scale);
      sample();
    }
    return {
      ...base,
      ok: true,
      setupMs,
      timesMs,
      cpuMs,
      medianCpuMs: median(cpuMs),
      medianMs: median(timesMs),
      minMs: Math.min(...timesMs),
      maxMs: Math.max(...timesMs),
      rssSampledMaxMiB: rssMax / MiB,
      peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
      tensorsBefore,
      tensorsAfter: tf.memory().numTensors,
    };
  } catch (e) {
    return { ...base, ok: false, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}
