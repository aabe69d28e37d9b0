import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { readFileSync } from 'node:fs';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SOURCE = join(ROOT, 'packages/node-adapter/src/cli/main.ts');
const BUILT = join(ROOT, 'packages/node-adapter/dist/cli.js');

/**
 * How tests start the CLI: the built bin (`CNNVIZ_CLI=dist`, what users run after `npm run build`)
 * or, by default, the sources through tsx with the root tsconfig's paths, so a test never runs a
 * stale build of a sibling package.
 */
export function cliCommand(): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  if (process.env.CNNVIZ_CLI === 'dist') {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
    return { cmd: process.execPath, args: [BUILT], env: {} };
  }
  return {
    cmd: process.execPath,
    args: ['--import', 'tsx', SOURCE],
    env: { TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
  };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `cnnviz ...args` as a user would; `onStderr` sees stderr as it arrives. */
export function startCli(
  args: string[],
  opts: { cwd?: string; onStderr?: (all: string, child: ChildProcess) => void } = {},
): {
  child: ChildProcess;
  done: Promise<CliRun>;
} {
  const c = cliCommand();
  const child = spawn(c.cmd, [...c.args, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: {
      ...process.env,
      ...c.env,
      CNNVIZ_BACKEND: process.env.CNNVIZ_TEST_BACKEND ?? 'wasm',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, child);
  });
  const done = new Promise<CliRun>((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolveRun({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `cnnviz ...args` to the end. */
export function cli(args: string[], opts: { cwd?: string } = {}): Promise<CliRun> {
  return startCli(args, opts).done;
}

/** A PNG file's size and RGB values (0..255), throwing if it is not a valid PNG. */
export function readPng(path: string): { width: number; height: number; rgb: Uint8Array } {
  const png = PNG.sync.read(readFileSync(path));
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    rgb[3 * i] = png.data[4 * i];
    rgb[3 * i + 1] = png.data[4 * i + 1];
    rgb[3 * i + 2] = png.data[4 * i + 2];
  }
  return { width: png.width, height: png.height, rgb };
}

/** Channel 0 of a PNG as 0..1 values (grey heatmaps: the map itself). */
export function greyValues(path: string): { width: number; height: number; v: Float32Array } {
  const { width, height, rgb } = readPng(path);
  const v = new Float32Array(width * height);
  for (let i = 0; i < v.length; i++) v[i] = rgb[3 * i] / 255;
  return { width, height, v };
}
