// Retakes docs/playground.png: the playground in headless chromium, after a DeepDream run.
//   npx tsx examples/playground/src/e2e/screenshot.ts
import { fileURLToPath } from 'node:url';
import { buildAndServe, launchChromium, openPage, waitForState } from './harness.js';

const out = fileURLToPath(new URL('../../../../docs/playground.png', import.meta.url));
const served = await buildAndServe();
// The page picks its own backend (WASM here, where the GPU is a software one).
const browser = await launchChromium('webgl');
try {
  const { page } = await openPage(
    browser,
    `${served.url}index.html?model=mobilenetV2-128&image=chelsea&technique=deepdream&steps=30`,
  );
  await page.setViewportSize({ width: 780, height: 640 });
  if ((await waitForState(page, ['ready', 'error'])) !== 'ready')
    throw new Error((await page.textContent('#status')) ?? 'error');
  await page.click('#run');
  if ((await waitForState(page, ['done', 'error'], 600_000)) !== 'done')
    throw new Error((await page.textContent('#status')) ?? 'error');
  await page.screenshot({ path: out, fullPage: false });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await served.close();
}
