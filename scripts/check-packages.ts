/**
 * Package hygiene for every public package, on the tarballs `npm pack` makes from the current dist:
 *
 *   npx tsx scripts/check-packages.ts [package...]      (npm run check:packages; run `npm run build` first)
 *
 * - publint (strict: warnings fail) and Are The Types Wrong (attw, every resolution mode; not for the zoo's weight
 *   packages, which have no JavaScript);
 * - the tarball holds only dist/, README.md, LICENSE, NOTICE, CHANGELOG.md and package.json, plus the asset
 *   folders scripts/package-policy.json grants (fashionCnn and images: @cnnviz/models; the style network:
 *   @cnnviz/synthesis; weights/: @cnnviz/zoo-*), and a package with such files ships a NOTICE;
 * - packed size within the package's budget (package-policy.json `sizeBudgetKiB`);
 * - peers: tfjs-core is a peer, never a dependency; every peer range is `^<version tested in CI>` (a @cnnviz peer:
 *   `^<its version>`); peers of a @cnnviz dependency are re-declared; every package imported by dist is declared;
 * - nothing in what `npm i <package>` installs runs an install script that package-policy.json has not audited,
 *   nor is one of its `forbiddenInstalls` (from package-lock.json; the smoke test checks the same on real installs).
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { Lockfile } from './lib/lockfile.js';
import {
  hasCode,
  pack,
  publicPackages,
  readPolicy,
  root,
  selectPackages,
  type WorkspacePackage,
} from './lib/workspace.js';

const policy = readPolicy();
const pkgs = selectPackages(process.argv.slice(2));
const all = publicPackages();
const lock = new Lockfile(join(root, 'package-lock.json'));
const tmp = mkdtempSync(join(tmpdir(), 'cnnviz-check-packages-'));
const attwBin = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
const ALWAYS_ALLOWED = ['package.json', 'README.md', 'LICENSE', 'NOTICE', 'CHANGELOG.md'];

const problems: string[] = [];
const rows: string[][] = [];
const fail = (p: WorkspacePackage, what: string) => problems.push(`${p.name}: ${what}`);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);

try {
  const packed = pack(pkgs, tmp);
  for (const [i, p] of pkgs.entries()) {
    const info = packed[i];
    const tarball = join(tmp, info.filename);
    const notes: string[] = [];

    // publint on the very tarball that would be published.
    const lint = await publint({ strict: true, pack: { tarball: toArrayBuffer(readFileSync(tarball)) } });
    for (const m of lint.messages) {
      const text = formatMessage(m, lint.pkg, { color: false }) ?? m.code;
      if (m.type === 'suggestion') notes.push(`publint suggestion: ${text}`);
      else fail(p, `publint ${m.type}: ${text}`);
    }
    const publintResult = lint.messages.some((m) => m.type !== 'suggestion') ? 'FAIL' : 'ok';

    // attw: the types resolve, and match the JS, under node10, node16 (CJS and ESM) and bundler resolution.
    let attwResult = hasCode(p) ? 'ok' : '-';
    const attw = hasCode(p) ? attwCheck(tarball) : [];
    if (attw.length) {
      attwResult = 'FAIL';
      attw.forEach((line) => fail(p, `attw: ${line}`));
    }

    // Files: dist, docs and licences only, plus granted asset folders.
    const extra = policy.extraFiles[p.name] ?? [];
    // The commands package.json names in "bin" (a committed stub that loads dist/).
    const bins = Object.values(
      typeof p.pkg.bin === 'string' ? { [p.name]: p.pkg.bin } : ((p.pkg.bin ?? {}) as Record<string, string>),
    ).map((b) => b.replace(/^\.\//, ''));
    for (const f of info.files) {
      const ok =
        ALWAYS_ALLOWED.includes(f.path) ||
        bins.includes(f.path) ||
        (f.path.startsWith('dist/') && !/\.(test|spec)\.|\.(bin|png|jpe?g|gz)$/.test(f.path)) ||
        extra.some((prefix) => f.path.startsWith(prefix));
      if (!ok)
        fail(
          p,
          `ships ${f.path} (allowed: dist/, ${ALWAYS_ALLOWED.join(', ')}${extra.length ? ', ' + extra.join(', ') : ''})`,
        );
    }
    for (const must of ['README.md', 'LICENSE', 'package.json']) {
      if (!info.files.some((f) => f.path === must)) fail(p, `does not ship ${must}`);
    }
    if (extra.length && !info.files.some((f) => f.path === 'NOTICE')) {
      fail(p, 'ships bundled assets but no NOTICE with their sources and licences');
    }
    for (const entry of p.pkg.files ?? []) {
      const base = entry.replace(/\/$/, '');
      const binFolder = bins.some((b) => b === base || b.startsWith(`${base}/`));
      if (
        !['dist', ...ALWAYS_ALLOWED].includes(base) &&
        !binFolder &&
        !extra.some((x) => x.startsWith(`${base}/`))
      ) {
        fail(p, `package.json "files" lists "${entry}"`);
      }
    }

    // Size budget.
    const budget = policy.sizeBudgetKiB[p.name];
    if (budget === undefined) fail(p, 'has no size budget in scripts/package-policy.json');
    else if (info.size > budget * 1024)
      fail(p, `packed size ${kib(info.size)} KiB exceeds its budget of ${budget} KiB`);

    checkPeers(p, notes);
    checkImports(
      p,
      info.files.map((f) => f.path),
    );
    checkInstallScripts(p);

    rows.push([
      p.name,
      kib(info.size),
      budget === undefined ? '-' : `${budget}`,
      budget === undefined ? '-' : `${Math.round((100 * info.size) / (budget * 1024))} %`,
      kib(info.unpackedSize),
      `${info.files.length}`,
      publintResult,
      attwResult,
    ]);
    for (const n of notes) console.log(`${p.name}: ${n}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

printTable(['package', 'packed KiB', 'budget KiB', 'used', 'unpacked KiB', 'files', 'publint', 'attw'], rows);
if (problems.length) {
  console.error(`\n${problems.length} problem(s):`);
  for (const pr of problems) console.error(`  - ${pr}`);
  process.exit(1);
}
console.log('\nAll packages pass publint, attw, the files/size/peer/install-script checks.');

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Runs the attw CLI on a tarball and returns one line per problem. */
function attwCheck(tarball: string): string[] {
  // --no-definitely-typed: the packages ship their own types, and nothing may be fetched here.
  const args = [attwBin, tarball, '--format', 'json', '--no-definitely-typed'];
  let out: string;
  try {
    out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // attw exits 1 when it finds problems; its JSON is still on stdout.
    out = (e as { stdout?: string }).stdout ?? '';
    if (!out.trim()) return [`attw failed: ${(e as Error).message}`];
  }
  const json = JSON.parse(out) as {
    problems?: Record<string, { kind: string; entrypoint?: string; resolutionKind?: string }[]>;
  };
  const lines: string[] = [];
  for (const [kind, list] of Object.entries(json.problems ?? {})) {
    for (const pr of list ?? [])
      lines.push(`${kind} ${pr.entrypoint ?? ''} ${pr.resolutionKind ?? ''}`.trim());
  }
  return lines;
}

function isOptionalPeer(p: WorkspacePackage, name: string): boolean {
  return Boolean(p.pkg.peerDependenciesMeta?.[name]?.optional);
}

function checkPeers(p: WorkspacePackage, notes: string[]) {
  const peers = p.pkg.peerDependencies ?? {};
  const deps = { ...p.pkg.dependencies, ...p.pkg.optionalDependencies };
  // One tfjs-core per app: two copies have two engines, two kernel registries and two backends.
  if (!peers['@tensorflow/tfjs-core'] && hasCode(p))
    fail(p, '@tensorflow/tfjs-core must be a peer dependency');
  if (deps['@tensorflow/tfjs-core']) fail(p, '@tensorflow/tfjs-core must not be a (optional) dependency');
  for (const [name, range] of Object.entries(peers)) {
    const tested = policy.testedPeers[name];
    const internal = all.find((q) => q.name === name);
    if (internal) {
      if (range !== `^${internal.pkg.version}`)
        fail(p, `peer ${name}@"${range}": expected "^${internal.pkg.version}" (its version in this repo)`);
    } else if (tested !== undefined) {
      if (range !== `^${tested}`)
        fail(p, `peer ${name}@"${range}": expected "^${tested}" (the version CI tests)`);
    } else if (policy.untestedOptionalPeers[name] !== undefined) {
      if (!isOptionalPeer(p, name)) fail(p, `peer ${name} cannot be tested here, so it must be optional`);
      else
        notes.push(
          `optional peer ${name}@"${range}" is not installed in CI: ${policy.untestedOptionalPeers[name]}`,
        );
    } else {
      fail(
        p,
        `peer ${name}@"${range}" is neither in testedPeers nor in untestedOptionalPeers of scripts/package-policy.json`,
      );
    }
  }
  // Re-declare the peers of internal dependencies, so that every package manager (pnpm, yarn) sees them.
  const missing = new Map<string, string[]>();
  for (const dep of Object.keys(deps)) {
    const inner = all.find((q) => q.name === dep);
    if (!inner) continue;
    for (const name of Object.keys(inner.pkg.peerDependencies ?? {})) {
      if (isOptionalPeer(inner, name) || deps[name] !== undefined || peers[name] !== undefined) continue;
      missing.set(name, [...(missing.get(name) ?? []), dep]);
    }
  }
  for (const [name, via] of missing)
    fail(p, `does not declare ${name}, a peer of its dependencies ${via.join(', ')}`);
}

/** Every bare module specifier in the shipped JS must be a Node builtin or declared in package.json. */
function checkImports(p: WorkspacePackage, files: string[]) {
  const declared = new Set(
    Object.keys({ ...p.pkg.dependencies, ...p.pkg.optionalDependencies, ...p.pkg.peerDependencies }),
  );
  const builtins = new Set(builtinModules);
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["']([^"'./][^"']*)["']/g;
  const missing = new Set<string>();
  for (const f of files.filter((x) => /^dist\/.*\.(c|m)?js$/.test(x))) {
    const code = readFileSync(join(p.dir, f), 'utf8');
    for (const m of code.matchAll(pattern)) {
      const spec = m[1];
      if (spec.startsWith('node:') || builtins.has(spec.split('/')[0])) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!declared.has(name)) missing.add(`${name} (${f})`);
    }
  }
  for (const m of missing) fail(p, `dist imports ${m}, which package.json does not declare`);
}

function checkInstallScripts(p: WorkspacePackage) {
  const location = relative(root, p.dir);
  if (!lock.packages[location]) {
    fail(p, `not in package-lock.json (run \`npm install --package-lock-only\`)`);
    return;
  }
  const installed = lock.closure(location);
  for (const dep of installed) {
    if (/^@tensorflow\/tfjs-node(-gpu)?$/.test(dep.name)) {
      fail(p, `installs ${dep.name} (via ${dep.via.join(' > ')}), whose install downloads libtensorflow`);
    }
    if (policy.forbiddenInstalls[dep.name] !== undefined) {
      fail(p, `installs ${dep.name} (via ${dep.via.join(' > ')}): ${policy.forbiddenInstalls[dep.name]}`);
    }
    if (dep.hasInstallScript && policy.auditedInstallScripts[dep.name] === undefined) {
      fail(
        p,
        `installs ${dep.name}@${dep.version} (via ${dep.via.join(' > ')}), which has an unaudited install script`,
      );
    }
  }
}

function printTable(head: string[], body: string[][]) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of body) console.log(line(r));
}
