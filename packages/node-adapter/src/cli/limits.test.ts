import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroPng } from '../test-png.js';
import { ROOT } from './test-cli.js';

// The built bin, as users run it: the time limit is about the CLI, not about a TypeScript loader.
const BIN = join(ROOT, 'packages/node-adapter/dist/cli.js');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cnnviz-limits-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CNNVIZ_BACKEND: 'wasm', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

describe('cnnviz and image bombs', () => {
  it('refuses a 30000 x 30000 PNG (874 KB of valid deflated zeros) in under a second: one line, exit 2, no file', async () => {
    expect(existsSync(BIN), `${BIN} is missing: run npm run build first`).toBe(true);
    const bomb = join(dir, 'bomb.png');
    writeFileSync(bomb, await zeroPng(30000, 30000));
    const out = join(dir, 'out.png');
    const r = await run(['saliency', bomb, '-m', 'fashion-cnn', '-o', out]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^cnnviz saliency: ".*bomb\.png" declares 30000 x 30000 = 900\.0 megapixels, over the limit of 100\.0.*--max-pixels/,
    );
    // Under a second on an idle machine (0.4 s on 2 cores); CI runs test files side by side, so the
    // bound stretches with the load average (Node alone needs ~0.5 s to import TF.js at load 11).
    const load = Math.max(1, loadavg()[0] / availableParallelism());
    console.log(`bomb refused in ${Math.round(r.ms)} ms (load average ${loadavg()[0].toFixed(1)})`);
    expect(r.ms).toBeLessThan(1000 * load);
    expect(readdirSync(dir)).toEqual(['bomb.png']);
    // --max-pixels lowers the limit for a small file too, and --json carries the code.
    const small = join(dir, 'small.png');
    writeFileSync(small, await zeroPng(100, 100));
    const j = await run([
      'saliency',
      small,
      '-m',
      'fashion-cnn',
      '--max-pixels',
      '9999',
      '--json',
      '-o',
      out,
    ]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'IMAGE_TOO_LARGE' } });
  });
});
