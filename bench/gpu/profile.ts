import * as tf from '@tensorflow/tfjs-core';

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

/** What one call costs on the GPU: tfjs kernels, real dispatches, and GPU time from timestamp queries. */
export interface KernelProfile {
  label: string;
  /** Kernels tfjs ran (tf.profile), reshapes and other no-dispatch kernels included. */
  kernels: number;
  /** Compute passes the backend dispatched (runWebGPUProgram calls): what a GPU pays per-dispatch overhead on. */
  dispatches: number;
  /** Sum of the kernels' timestamp-query times (ms); NaN where the device has no timestamp-query. */
  gpuMs: number;
  /** GPU time of the fastest profiled run (ms). */
  gpuMsMin: number;
  /**
   * Sum over kernel names of each name's smallest total across the profiled runs (ms): on a loaded host (a
   * software adapter shares the CPUs) the least disturbed estimate of the step's GPU time.
   */
  gpuMsFloor: number;
  /** Fastest wall time of `wallReps` un-profiled calls (ms), read back included. */
  wallMs: number;
  /**
   * Process CPU time per call (ms, user + system, mean of the wall runs). On a software adapter (lavapipe) the
   * "GPU" is this process's threads, and CPU time barely moves with the host's load, unlike timestamps.
   */
  cpuMs: number;
  /** Kernel name → [GPU ms (its minimum over the profiled runs), count], largest first. */
  byKernel: [string, number, number][];
}

interface Dispatching {
  runWebGPUProgram: (...a: unknown[]) => unknown;
}

/** Counts dispatches of `fn` by wrapping the backend's runWebGPUProgram for its duration. */
export async function countDispatches(fn: () => Promise<void>): Promise<number> {
  const backend = tf.backend() as unknown as Dispatching;
  const original = backend.runWebGPUProgram;
  if (typeof original !== 'function') return NaN;
  let n = 0;
  backend.runWebGPUProgram = function (this: unknown, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  try {
    await fn();
  } finally {
    backend.runWebGPUProgram = original;
  }
  return n;
}

/**
 * One warm-up call, then kernels + GPU time (`profileReps` tf.profile runs, timestamp queries), dispatches, and the fastest wall
 * time of `wallReps` plain calls. `fn` must read its result back (so that the wall time includes the GPU work).
 */
export async function kernelProfile(
  label: string,
  fn: () => Promise<void>,
  wallReps = 3,
  profileReps = 5,
): Promise<KernelProfile> {
  await fn();
  // Timestamps on a software adapter include the host load: several runs, reduced per kernel below.
  const runs: ProfileInfo[] = [];
  for (let i = 0; i < profileReps; i++) {
    // tf.profile returns the engine's one profile object, refilled by every call: copy what it holds now.
    const p = await tf.profile(fn);
    runs.push({ ...p, kernels: p.kernels.map((k) => ({ ...k })) });
  }
  const total = (r: ProfileInfo) =>
    r.kernels.reduce((s, k) => s + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0);
  runs.sort((a, b) => total(a) - total(b));
  if (process.env.CNNVIZ_PROFILE_DEBUG)
    console.log(`    profiled totals: ${runs.map((r) => total(r).toFixed(1)).join(' ')}`);
  const p = runs[(runs.length - 1) >> 1];
  const timed = p.kernels.some((k) => typeof k.kernelTimeMs === 'number');
  // Per kernel name: its instance count and its smallest total over the runs.
  const floor = new Map<string, number>();
  const count = new Map<string, number>();
  for (const k of p.kernels) count.set(k.name, (count.get(k.name) ?? 0) + 1);
  for (const r of runs) {
    const per = new Map<string, number>();
    for (const k of r.kernels)
      per.set(k.name, (per.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
    for (const [name, ms] of per) floor.set(name, Math.min(floor.get(name) ?? Infinity, ms));
  }
  const byKernel = [...count.entries()]
    .map(([name, n]) => [name, floor.get(name) ?? 0, n] as [string, number, number])
    .sort((x, y) => y[1] - x[1] || y[2] - x[2]);
  const dispatches = await countDispatches(fn);
  const walls: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < wallReps; i++) {
    const t0 = performance.now();
    await fn();
    walls.push(performance.now() - t0);
  }
  return {
    label,
    kernels: p.kernels.length,
    dispatches,
    gpuMs: timed ? total(p) : NaN,
    gpuMsMin: timed ? total(runs[0]) : NaN,
    gpuMsFloor: timed ? byKernel.reduce((sum, k) => sum + k[1], 0) : NaN,
    wallMs: Math.min(...walls),
    cpuMs: (() => {
      const c = process.cpuUsage(cpu0);
      return (c.user + c.system) / 1000 / wallReps;
    })(),
    byKernel,
  };
}

export function printProfile(p: KernelProfile, top = 12): void {
  console.log(
    `  profile: ${p.label}: ${p.kernels} kernels, ${p.dispatches} dispatches, GPU ${p.gpuMsFloor.toFixed(1)} ms (sum of per-kernel minima over the profiled runs; median run ${p.gpuMs.toFixed(1)}, fastest ${p.gpuMsMin.toFixed(1)}; timestamp queries), wall ${p.wallMs.toFixed(1)} ms, process CPU ${p.cpuMs.toFixed(0)} ms per call`,
  );
  for (const [name, ms, n] of p.byKernel.slice(0, top))
    console.log(`    ${name.padEnd(40)} ${ms.toFixed(2).padStart(9)} ms  x${n}`);
}
