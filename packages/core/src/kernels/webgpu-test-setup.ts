import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { withShaderF16 } from '../gpu-adapter.js';
import { type Requirement, WEBGPU_IN_NODE } from '../test-support/needs.js';

// Test helper (not exported from the package): WebGPU in Node through Dawn, GPU.md's recipe. CI installs Mesa's
// lavapipe, so these tests run there; a machine with neither Dawn nor a Vulkan driver skips them (test-support/needs).

export interface WebgpuSetup {
  ok: boolean;
  /** Adapter description, or why WebGPU is unavailable. */
  what: string;
}

interface MinimalGpu {
  requestAdapter(): Promise<{ info: { vendor: string; description: string } } | null>;
}

let setup: Promise<WebgpuSetup> | undefined;

/**
 * Installs `navigator.gpu` from Dawn and THEN imports tfjs-backend-webgpu (it registers itself only if WebGPU
 * exists when it is evaluated). ok is false only when no adapter can be created.
 */
export function setupWebgpu(): Promise<WebgpuSetup> {
  setup ??= (async (): Promise<WebgpuSetup> => {
    // Asked in a child process first: without a driver Dawn writes its loader's complaints to stderr, which only a
    // child's stderr can catch.
    const none = quietAdapterCheck();
    if (none !== undefined) return { ok: false, what: none };
    let gpu: MinimalGpu;
    try {
      const specifier = 'webgpu';
      const dawn = (await import(specifier)) as {
        create(flags: string[]): MinimalGpu;
        globals: Record<string, unknown>;
      };
      // As @cnnviz/node does: devices get shader-f16 where the adapter has it (the half-precision kernels' tests).
      gpu = withShaderF16(dawn.create([]));
      Object.assign(globalThis, dawn.globals);
    } catch (e) {
      return { ok: false, what: `Dawn (npm 'webgpu') did not load: ${(e as Error).message.split('\n')[0]}` };
    }
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (adapter === null) return { ok: false, what: 'Dawn found no WebGPU adapter (no Vulkan driver?)' };
    const g = globalThis as { navigator?: object };
    if (g.navigator === undefined)
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    else if (!('gpu' in g.navigator))
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    if (tf.findBackendFactory('webgpu') === null)
      return { ok: false, what: 'tfjs-backend-webgpu registered nothing' };
    return { ok: true, what: `${adapter.info.vendor} ${adapter.info.description}`.trim() };
  })();
  return setup;
}

/** Why Dawn has no adapter here (with what it wrote to stderr), or undefined when it has one. */
function quietAdapterCheck(): string | undefined {
  const script = `const { create } = await import('webgpu');
process.stdout.write((await create([]).requestAdapter()) ? 'yes' : 'no'); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.stdout === 'yes') return undefined;
  const said = (r.stderr ?? '')
    .split('\n')
    .map((l) => l.trim().replace(/^Warning:\s*/, ''))
    .filter((l) => l !== '' && !l.startsWith('at '))
    .slice(0, 2)
    .join('; ');
  const why = r.stdout === 'no' ? 'Dawn found no WebGPU adapter' : "Dawn (npm 'webgpu') did not load";
  return said ? `${why}: ${said}` : why;
}

/** WebGPU in Node for the tests that need it: Dawn with a Vulkan driver (Mesa's lavapipe will do). */
export async function webgpuRequirement(): Promise<Requirement> {
  const s = await setupWebgpu();
  return { ok: s.ok, why: s.what, ...WEBGPU_IN_NODE };
}

export { relErr } from './test-util.js';
