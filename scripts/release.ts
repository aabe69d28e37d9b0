/**
 * Prepares a release (npm run release): tests, versions, verifies and packs; it never publishes.
 *
 *   npx tsx scripts/release.ts [--skip-test]
 *
 * 1. `npm test` (build + the whole vitest suite), unless --skip-test.
 * 2. `changeset version`: consumes .changeset/*.md, bumps each package's version on its own (independent
 *    versions), updates internal dependency ranges and writes each package's CHANGELOG.md.
 * 3. `npm install --package-lock-only` so package-lock.json carries the new versions; rebuild.
 * 4. The CI gates on the versioned packages: check:packages, api:check, the install smoke test.
 * 5. `npm pack` every public package into out/release/, and prints how to publish them (needs an npm token).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pack, publicPackages, root } from './lib/workspace.js';

const skipTest = process.argv.includes('--skip-test');
const out = join(root, 'out', 'release');

function step(title: string, cmd: string, args: string[]) {
  console.log(`\n== ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\nrelease stopped: "${title}" failed (exit ${r.status ?? r.error?.message}).`);
    process.exit(1);
  }
}

const before = new Map(publicPackages().map((p) => [p.name, p.pkg.version]));
if (!skipTest) step('test', 'npm', ['test']);
step('version', 'npx', ['changeset', 'version']);
step('lockfile', 'npm', ['install', '--package-lock-only', '--prefer-offline', '--no-audit', '--no-fund']);
step('build', 'npx', ['turbo', 'run', 'build']);
step('package hygiene', 'npx', ['tsx', 'scripts/check-packages.ts']);
step('API reports', 'npx', ['tsx', 'scripts/api-report.ts', '--check']);
step('install smoke test', 'npx', ['tsx', 'scripts/smoke-install.ts']);

rmSync(out, { recursive: true, force: true });
const pkgs = publicPackages();
const packed = pack(pkgs, out);
console.log(`\n== packed into ${relative(root, out)}/`);
for (const p of packed) {
  const was = before.get(p.name);
  const change = was === p.version ? 'unchanged' : `${was} -> ${p.version}`;
  console.log(`  ${p.filename}  ${(p.size / 1024).toFixed(1)} KiB  (${change})`);
}
const changed = packed.filter((p) => before.get(p.name) !== p.version);
console.log(`
Next (by hand; publishing needs an npm token with publish rights to the @cnnviz scope):
  1. Review and commit: git add -A && git commit -m "release: ${changed.map((p) => `${p.name}@${p.version}`).join(', ') || 'no version changes'}"
  2. Publish the tarballs that were verified (only the packages whose version changed):
${changed.map((p) => `       npm publish ${relative(root, join(out, p.filename))} --access public`).join('\n') || '       (none)'}
     (or \`npx changeset publish\`, which publishes every package whose version is not on the registry yet)
  3. Tag and push: npx changeset tag && git push --follow-tags`);
