/**
 * The cnnviz gallery: every technique of the CS231n lecture "Visualizing and Understanding" (plus
 * SmoothGrad, integrated gradients and Grad-CAM) on the bundled models and images, written as PNGs
 * and one self-contained out/gallery/index.html.
 *
 *   npm run demo                      # from the repository root: build, then this
 *   npx tsx src/main.ts --quality high --out /tmp/gallery --only saliency,deep-dream
 */
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@cnnviz/node';
import { Gallery, formatMs, type Quality, type TechniqueOutcome } from './gallery.js';
import { writeReport } from './report.js';
import { TECHNIQUES } from './sections/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const HELP = `cnnviz gallery: every technique on the bundled models and images -> PNGs + index.html

Options:
  --quality default|high   default finishes in minutes on 2 cores; high is full size, more steps
  --out <dir>              output folder (default: out/gallery at the repository root)
  --only <id,id,...>       run only these sections (${TECHNIQUES.map((t) => t.id).join(', ')})
  --backend <name>         TF.js backend to try first (default: the fastest that works)
  --no-progress            no progress bars
`;

/** CPU time of this process since `since`: on a busy machine, a better guide than wall time to an idle one. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quality: { type: 'string', default: 'default' },
      out: { type: 'string', default: join(root, 'out', 'gallery') },
      only: { type: 'string' },
      backend: { type: 'string' },
      'no-progress': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const quality = values.quality as Quality;
  if (quality !== 'default' && quality !== 'high') {
    process.stderr.write(`--quality must be default or high, got "${values.quality}"\n`);
    return 2;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((id) => !TECHNIQUES.some((t) => t.id === id)) ?? [];
  if (unknown.length) {
    process.stderr.write(
      `unknown section(s) ${unknown.join(', ')}; sections: ${TECHNIQUES.map((t) => t.id).join(', ')}\n`,
    );
    return 2;
  }
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const backend = await initBackend(values.backend ? { backend: values.backend } : {});
  process.stderr.write(`backend: ${backend.name} (${backend.reason})\n`);
  const outDir = resolve(values.out!);
  const g = new Gallery(outDir, quality, !values['no-progress']);
  const outcomes: TechniqueOutcome[] = [];
  for (const technique of TECHNIQUES) {
    if (only && !only.includes(technique.id)) continue;
    const bar = g.progress(technique.title);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const tensors = tf.memory().numTensors;
    try {
      const figures = await technique.run(g, bar);
      const ms = Math.round(performance.now() - t0);
      outcomes.push({ technique, figures, ms });
      bar.finish(
        `✓ ${technique.title.padEnd(44)} ${formatMs(ms).padStart(8)}  cpu ${formatMs(cpuMs(cpu0)).padStart(8)}  (${figures.length} figure${figures.length === 1 ? '' : 's'})`,
      );
    } catch (e) {
      const ms = Math.round(performance.now() - t0);
      const message = (e as Error).message.split('\n')[0];
      outcomes.push({ technique, figures: [], ms, error: message });
      bar.finish(`✗ ${technique.title.padEnd(44)} ${formatMs(ms).padStart(8)}  ${message}`);
      if (process.env.CNNVIZ_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    }
    const leaked = tf.memory().numTensors - tensors;
    if (leaked > 0 && process.env.CNNVIZ_DEBUG)
      process.stderr.write(`  (${leaked} tensors kept: cached models and images)\n`);
  }
  g.dispose();
  const totalMs = Math.round(performance.now() - start);
  const report = writeReport(outDir, outcomes, {
    backend: backend.name,
    quality,
    totalMs,
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    node: `Node ${process.version}`,
    cpus: cpus().length,
  });
  const failed = outcomes.filter((o) => o.error);
  process.stderr.write(
    `\n${report}\n${outcomes.length - failed.length}/${outcomes.length} techniques in ${formatMs(totalMs)} (process CPU time ${formatMs(cpuMs(cpuStart))})\n`,
  );
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`gallery failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
