// The publishable packages of the monorepo (packages/*, not private), their tarballs and the policy they are held to.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  files?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

export interface WorkspacePackage {
  name: string;
  /** `core` for `@cnnviz/core`: the name of its API report and tarball prefix. */
  unscoped: string;
  dir: string;
  pkg: PackageJson;
}

/**
 * A package with JavaScript to import (an `exports["."]` entry): every package but the zoo's weight packages,
 * which hold only model.json and binary shards. API reports, types and peer rules apply to these only.
 */
export function hasCode(p: WorkspacePackage): boolean {
  const exp = p.pkg.exports as Record<string, unknown> | undefined;
  return Boolean(exp?.['.'] ?? p.pkg.main);
}

/** Every public package, dependencies before dependants. */
export function publicPackages(): WorkspacePackage[] {
  const all = readdirSync(join(root, 'packages'))
    .map((d) => join(root, 'packages', d))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
      return { name: pkg.name, unscoped: pkg.name.replace(/^@[^/]+\//, ''), dir, pkg };
    })
    .filter((p) => !p.pkg.private)
    .sort((a, b) => a.name.localeCompare(b.name));
  const byName = new Map(all.map((p) => [p.name, p]));
  const sorted: WorkspacePackage[] = [];
  const seen = new Set<string>();
  const visit = (p: WorkspacePackage) => {
    if (seen.has(p.name)) return;
    seen.add(p.name);
    const peers = Object.keys(p.pkg.peerDependencies ?? {});
    for (const dep of [...Object.keys({ ...p.pkg.dependencies, ...p.pkg.optionalDependencies }), ...peers]) {
      const d = byName.get(dep);
      if (d) visit(d);
    }
    sorted.push(p);
  };
  all.forEach(visit);
  return sorted;
}

/** The packages named in argv (full or unscoped names; flags ignored), or all of them. */
export function selectPackages(argv: string[]): WorkspacePackage[] {
  const names = argv.filter((a) => !a.startsWith('-'));
  const pkgs = publicPackages();
  if (names.length === 0) return pkgs;
  const unknown = names.filter((n) => !pkgs.some((p) => p.name === n || p.unscoped === n));
  if (unknown.length) {
    throw new Error(
      `unknown package(s) ${unknown.join(', ')}; known: ${pkgs.map((p) => p.unscoped).join(', ')}`,
    );
  }
  return pkgs.filter((p) => names.includes(p.name) || names.includes(p.unscoped));
}

/** One entry of `npm pack --json`. */
export interface PackResult {
  name: string;
  version: string;
  /** The tarball's file name (in the pack destination; empty in a dry run's folder). */
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

/**
 * `npm pack` the packages in one npm call. With `dest`, tarballs are written there; without, it is a dry run.
 * Lifecycle scripts are skipped: the packages have none, and a tarball must be what `dist` holds now.
 */
export function pack(pkgs: WorkspacePackage[], dest?: string): PackResult[] {
  if (dest) mkdirSync(dest, { recursive: true });
  const args = [
    'pack',
    '--json',
    '--ignore-scripts',
    ...(dest ? ['--pack-destination', dest] : ['--dry-run']),
  ];
  for (const p of pkgs) args.push('--workspace', p.dir);
  const out = execFileSync('npm', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const results = JSON.parse(out) as PackResult[];
  if (results.length !== pkgs.length)
    throw new Error(`npm pack returned ${results.length} results for ${pkgs.length} packages`);
  return results;
}

export interface PackagePolicy {
  /** Packed (gzip) tarball size limit per package, KiB. */
  sizeBudgetKiB: Record<string, number>;
  /** Files a package may ship besides dist/, README.md, LICENSE, NOTICE, CHANGELOG.md and package.json (prefixes). */
  extraFiles: Record<string, string[]>;
  /** The peer dependency versions the smoke test and CI install; every peer range must start at one of them. */
  testedPeers: Record<string, string>;
  /** Optional peers that cannot be installed here, with the reason; their ranges follow the tested core version. */
  untestedOptionalPeers: Record<string, string>;
  /** Packages whose README example the smoke test runs (the others take minutes on a CPU and are type-checked only). */
  runReadmeExamples: string[];
  /** Dependencies with install scripts that were read and do not download anything: name → what the script does. */
  auditedInstallScripts: Record<string, string>;
  /** The smoke test installs each list of packages (and the peers they require) into a fresh project: at most maxMB. */
  installBudgets: { install: string[]; maxMB: number; why: string }[];
  /** Packages no install of ours may contain (`npm ls --all`), with the reason. */
  forbiddenInstalls: Record<string, string>;
}

export function readPolicy(): PackagePolicy {
  return JSON.parse(readFileSync(join(root, 'scripts', 'package-policy.json'), 'utf8')) as PackagePolicy;
}
