import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What a user's script prints when cnnviz picks the backend: its own output only. Dawn's driver complaints (written
// by native code straight to stderr, with paths from Dawn's build machine) belong in the one-line webgpu reason, and
// tfjs's "install our node backend" notice is not printed when cnnviz chose the CPU backend. Run in a fresh process
// (the built @cnnviz/node) because both are process-wide.
function run(
  script: string,
  env: Record<string, string>,
): { stdout: string; stderr: string; status: number | null } {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, ...env },
  });
  return { stdout: out.stdout, stderr: out.stderr, status: out.status };
}

describe('backend selection prints nothing of its own', () => {
  it("without a Vulkan driver, Dawn's message is part of the webgpu reason and nothing reaches stderr", () => {
    const r = run(
      `const { initBackend } = await import('@cnnviz/node');
       const info = await initBackend();
       console.log(JSON.stringify(info.tried.find((t) => t.name === 'webgpu (Dawn)')));`,
      // The Vulkan loader finds no driver at all (as on a machine without Mesa or a GPU driver).
      { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const webgpu = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; why: string };
    expect(webgpu.ok).toBe(false);
    expect(webgpu.why).toMatch(/^Dawn found no WebGPU adapter/);
    // One line, without Dawn's source locations.
    expect(webgpu.why).not.toMatch(/\n|\.cpp:\d+|\bat CheckVk/);
  });

  it("tfjs's node-backend notice is not printed when cnnviz chose the CPU backend", () => {
    const r = run(
      `const tf = await import('@tensorflow/tfjs-core');
       const { initBackend } = await import('@cnnviz/node');
       const info = await initBackend({ backend: 'cpu', strict: true });
       console.log(info.name, Array.from(await tf.add(tf.tensor1d([1, 2]), 1).data()).join(','));`,
      {},
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toBe('cpu 2,3');
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/install our node backend|Hi, looks like/);
  });
});
