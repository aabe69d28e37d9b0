/**
 * WebGPU in Node through Dawn (npm `webgpu`), kept apart from the rest of backend selection
 * because its set-up order matters: `navigator.gpu` must exist before
 * `@tensorflow/tfjs-backend-webgpu` is evaluated, or that package silently registers nothing.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import {
  errorFirstLine,
  type GpuAdapterInfo,
  type GpuAdapterProbe,
  type MinimalGpu,
  probeGpuAdapter,
  withShaderF16,
} from '@cnnviz/core';

export type { GpuAdapterInfo };
export type DawnProbe = GpuAdapterProbe;

let gpu: MinimalGpu | undefined;
let installedByUs = false;

/** Loads Dawn and installs `navigator.gpu` plus the WebGPU globals (`GPUBufferUsage`, ...). */
async function installDawn(): Promise<MinimalGpu> {
  if (gpu) return gpu;
  // The specifier is a variable so that type checking and bundlers do not require the optional package.
  const specifier = 'webgpu';
  const mod = (await import(specifier)) as {
    create: (flags: string[]) => MinimalGpu;
    globals: Record<string, unknown>;
  };
  // Devices get shader-f16 where the adapter offers it, so that the precision option can switch to half precision.
  const created = withShaderF16(mod.create([]));
  Object.assign(globalThis, mod.globals);
  const g = globalThis as { navigator?: object };
  if (g.navigator) {
    // Node 21+ has a navigator of its own; add gpu to it rather than replace it.
    Object.defineProperty(g.navigator, 'gpu', { value: created, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: created }, configurable: true });
  }
  installedByUs = true;
  gpu = created;
  return created;
}

/** Removes the `navigator.gpu` this module installed (when WebGPU was probed but not chosen). */
export function uninstallDawn(): void {
  if (!installedByUs) return;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator && Object.keys(g.navigator).length === 1 && 'gpu' in g.navigator) {
    delete (globalThis as { navigator?: unknown }).navigator;
  } else if (g.navigator) {
    delete g.navigator.gpu;
  }
  installedByUs = false;
  gpu = undefined;
}

// Run in a child process: Dawn writes its Vulkan loader's complaints straight to file descriptor 2 (with paths from
// Dawn's build machine), which nothing in this process can catch. The child's stderr becomes part of the reason.
const CHILD = `
const { create } = await import(process.argv[1]);
const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
// GPUAdapterInfo's fields are getters: copy them by name.
const keys = ['vendor', 'architecture', 'device', 'description', 'isFallbackAdapter'];
const info = a && Object.fromEntries(keys.map((k) => [k, a.info[k]]));
process.stdout.write(JSON.stringify(a && { info, isFallbackAdapter: a.isFallbackAdapter }));
process.exit(0);`;

/** Dawn's stderr in one line: its messages without the "Warning:" prefixes and source locations. */
function dawnMessages(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim().replace(/^(Warning|Error):\s*/, ''))
    .filter((l) => l !== '' && !/^at \S+ \(.*:\d+\)$/.test(l));
  return [...new Set(lines)].join('; ');
}

let childProbe: Promise<DawnProbe> | undefined;

/**
 * Loads Dawn in a child process and asks for a high-performance adapter; reports what it found,
 * or why there is none in one line (Dawn's own messages included). Computed once per process.
 */
export function probeDawn(): Promise<DawnProbe> {
  childProbe ??= (async (): Promise<DawnProbe> => {
    let url: string;
    try {
      url = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
    } catch {
      return {
        ok: false,
        why: "the optional peer 'webgpu' (Dawn) is not installed: npm i webgpu for the GPU path",
      };
    }
    const { stdout, stderr, error } = await new Promise<{
      stdout: string;
      stderr: string;
      error: Error | null;
    }>((done) =>
      execFile(
        process.execPath,
        ['--input-type=module', '-e', CHILD, url],
        { timeout: 30_000, maxBuffer: 1 << 20 },
        (e, out, err) => done({ stdout: String(out), stderr: String(err), error: e }),
      ),
    );
    const said = dawnMessages(stderr);
    if (error) {
      const why = (error as { killed?: boolean }).killed
        ? 'did not answer in 30 s'
        : `failed to load: ${said || errorFirstLine(error)}`;
      return { ok: false, why: `Dawn (npm 'webgpu') ${why}` };
    }
    const none = `Dawn found no WebGPU adapter${said ? `: ${said}` : ' (no Vulkan driver?)'}`;
    const found = JSON.parse(stdout || 'null') as Awaited<ReturnType<MinimalGpu['requestAdapter']>>;
    return probeGpuAdapter({ requestAdapter: async () => found }, 'Dawn', none);
  })();
  return childProbe;
}

/** Loads Dawn in this process and asks it for the adapter that tfjs-backend-webgpu will use. */
export async function installDawnAdapter(): Promise<DawnProbe> {
  let g: MinimalGpu;
  try {
    g = await installDawn();
  } catch (e) {
    return { ok: false, why: `Dawn (npm 'webgpu') failed to load: ${errorFirstLine(e)}` };
  }
  return probeGpuAdapter(g, 'Dawn', 'Dawn found no WebGPU adapter in this process');
}

/** Imports tfjs's WebGPU backend after Dawn is in place, so it registers itself. */
export async function loadWebgpuBackend(): Promise<void> {
  if (!gpu) await installDawn();
  await import('@tensorflow/tfjs-backend-webgpu');
}
