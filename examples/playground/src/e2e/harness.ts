import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  CHROMIUM as CHROMIUM_NEED,
  type Requirement,
} from '../../../../packages/core/src/test-support/needs.js';

/** The playground's folder (vite.config.ts, index.html). */
export const PLAYGROUND = fileURLToPath(new URL('../..', import.meta.url));

/** Debian's chromium (`apt-get install -y chromium`); override with CHROMIUM_PATH. Playwright's own download is not used. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export type GpuMode = 'webgl' | 'webgpu';

/** A built playground served by `vite preview` on a free local port. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Builds the playground (Vite's programmatic API) into a temporary folder and serves it. */
export async function buildAndServe(): Promise<Served> {
  const { build, preview } = await import('vite');
  const outDir = await mkdtemp(join(tmpdir(), 'cnnviz-playground-'));
  const configFile = join(PLAYGROUND, 'vite.config.ts');
  await build({ root: PLAYGROUND, configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  const port = await freePort();
  const server = await preview({
    root: PLAYGROUND,
    configFile,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * Launches headless Debian chromium. WebGL runs on SwiftShader; WebGPU needs
 * --enable-unsafe-webgpu on Linux (here a software fallback adapter: correct, not fast).
 */
export async function launchChromium(mode: GpuMode): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium (apt-get install -y chromium) or CHROMIUM_PATH set; Playwright's browser download is not used`,
    );
  }
  const args = ['--no-sandbox', '--disable-dev-shm-usage', '--ignore-gpu-blocklist'];
  if (mode === 'webgpu') args.push('--enable-unsafe-webgpu', '--enable-features=Vulkan');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** Whether a chromium starts here (one that exists but cannot start counts as missing), for the tests' skip rule. */
export async function chromiumRequirement(): Promise<Requirement> {
  if (!existsSync(CHROMIUM)) return { ...CHROMIUM_NEED, ok: false, why: `no file ${CHROMIUM}` };
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    await browser.close();
    return { ...CHROMIUM_NEED, ok: true, why: CHROMIUM };
  } catch (e) {
    return {
      ...CHROMIUM_NEED,
      ok: false,
      why: `${CHROMIUM} did not start: ${(e as Error).message.split('\n')[0]}`,
    };
  }
}

/** A page that records uncaught errors and console errors, for the tests to assert on. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** Waits until the page's body has `data-state` in `states` (the playground's and the lab's state machine). */
export async function waitForState(page: Page, states: string[], timeout = 120_000): Promise<string> {
  const handle = await page.waitForFunction(
    (s) => (s.includes(document.body.dataset.state ?? '') ? document.body.dataset.state : false),
    states,
    { timeout, polling: 100 },
  );
  return (await handle.jsonValue()) as string;
}
