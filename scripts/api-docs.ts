// API reference in Markdown (API Documenter) from the doc models that scripts/api-report.ts writes to
// out/api-model/, into docs/api/. The pages are generated, not checked in (docs/api/.gitignore): they follow
// from the doc comments in each package's src, and the reviewed, checked-in artefact is packages/*/etc/*.api.md.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib/workspace.js';

const model = join(root, 'out', 'api-model');
const staging = join(root, 'out', 'api-docs');
const target = join(root, 'docs', 'api');
const keep = new Set(['README.md', '.gitignore']);

const tsx = join(root, 'node_modules', '.bin', 'tsx');
const extract = spawnSync(
  tsx,
  [join(root, 'scripts', 'api-report.ts'), '--model', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
if (extract.status !== 0) process.exit(extract.status ?? 1);
if (!existsSync(model)) throw new Error(`no doc model in ${model}`);

// API Documenter empties its output folder, so it writes to a staging folder and the pages are copied over.
const bin = join(root, 'node_modules', '@microsoft', 'api-documenter', 'bin', 'api-documenter');
const doc = spawnSync(process.execPath, [bin, 'markdown', '-i', model, '-o', staging], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (doc.status !== 0) process.exit(doc.status ?? 1);
for (const f of readdirSync(target)) if (!keep.has(f)) rmSync(join(target, f), { recursive: true });
cpSync(staging, target, { recursive: true });
console.log(`API reference: ${readdirSync(staging).length} pages in docs/api/ (start at docs/api/index.md)`);
