/**
 * Install smoke test: what a user gets from `npm i @cnnviz/synthesis @cnnviz/attribution` in a project of their own.
 *
 *   npx tsx scripts/smoke-install.ts [--keep]          (npm run smoke:install; builds first)
 *
 * 1. `npm pack` every public package (the current dist) into a temporary folder outside the workspace.
 * 2. Install budgets (package-policy.json `installBudgets`): for each list, a fresh project that installs those
 *    packages and the peers they require (tfjs at the tested versions); node_modules must stay within the budget,
 *    `npm ls --all` must show none of `forbiddenInstalls`, and npm must print no install-script warning. Prints
 *    the sizes. Where @cnnviz/models is installed without @cnnviz/zoo-inception-v3, zoo.mobilenetV2Features() must
 *    load and zoo.inceptionV3Features() must throw MODEL_NOT_INSTALLED naming `npm i @cnnviz/zoo-inception-v3`.
 * 3. Creates a fresh project with every tarball, @tensorflow/tfjs-core and the WASM backend at the versions CI tests
 *    (scripts/package-policy.json `testedPeers`), typescript and @types/node.
 * 4. Checks the install: one copy of tfjs-core, no install script that package-policy.json has not audited.
 * 5. Runs scripts/smoke/esm.mjs and cjs.cjs (zoo model, saliency vs finite differences, FGSM = epsilon,
 *    class visualisation, the bundled style network, no tensor leaks), and type-checks scripts/smoke/consumer.ts,
 *    consumer-cjs.cts and the first ```ts example of every package README with `tsc --noEmit` (strict,
 *    moduleResolution node16 and bundler) against the published types.
 *
 * Registry access: `--prefer-offline`, so packages in npm's cache are not fetched again; @cnnviz/* come from the
 * tarballs only (they must never be looked up in the registry).
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lockfile } from './lib/lockfile.js';
import { hasCode, pack, publicPackages, readPolicy, root } from './lib/workspace.js';

const keep = process.argv.includes('--keep');
const policy = readPolicy();
const fixtures = join(root, 'scripts', 'smoke');
const work = mkdtempSync(join(tmpdir(), 'cnnviz-smoke-'));
const app = join(work, 'app');
const timings: [string, number][] = [];
let ok = false;

function timed<T>(what: string, fn: () => T): T {
  const t = Date.now();
  try {
    return fn();
  } finally {
    timings.push([what, (Date.now() - t) / 1000]);
  }
}

/** The environment without the npm_* variables of an enclosing `npm run`, which would point npm at the workspace. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const keepNpm = new Set(['npm_config_registry', 'npm_config_cache', 'npm_config_userconfig']);
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.toLowerCase().startsWith('npm_') || keepNpm.has(k.toLowerCase())) env[k] = v;
  }
  return env;
}

function sh(what: string, cmd: string, args: string[], timeoutS: number, cwd = app): string {
  return timed(what, () => {
    const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: timeoutS * 1000 });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.error || r.status !== 0) {
      throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${output}`);
    }
    return output;
  });
}

function dirSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += dirSize(p);
    else if (entry.isFile()) total += statSync(p).size;
  }
  return total;
}

/**
 * Packages npm reports as having install scripts that the project has not approved (npm ≥ 11.16 prints
 * "npm warn install-scripts   name@version (postinstall: ...)" after an install).
 */
function installScriptWarnings(output: string): string[] {
  return [...output.matchAll(/^npm warn install-scripts\s+(\S+@\S+) \(/gm)].map((m) => m[1]);
}

/** Package names in `npm ls --all --parseable --long` output (one `path:name@version` line each). */
function listedNames(output: string): Set<string> {
  const names = new Set<string>();
  // The first line is the project itself.
  for (const line of output.split('\n').slice(1)) {
    const m = /:((?:@[^/@:]+\/)?[^@:]+)@[^:]*(?::|$)/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

/** The first ```ts block of a README: the package's runnable example. */
function readmeExample(readme: string): string | undefined {
  return /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
}

try {
  const pkgs = publicPackages();
  const tarballs = join(work, 'tarballs');
  const packed = timed('npm pack', () => pack(pkgs, tarballs));
  const rootVersion = (name: string) =>
    (
      JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  const tested = policy.testedPeers;

  // Install budgets: each list of packages alone, as a user would install it.
  const tarballOf = new Map(packed.map((p) => [p.name, `file:../tarballs/${p.filename}`]));
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const budgetProblems: string[] = [];
  const budgetLines: string[] = [];
  for (const [i, budget] of policy.installBudgets.entries()) {
    const dir = join(work, `budget-${i + 1}`);
    mkdirSync(dir);
    // The @cnnviz packages they pull in come from the tarballs (never from a registry); non-optional peers are
    // what npm would add anyway, pinned to the tested versions.
    const internal = new Set<string>();
    const peers = new Set<string>();
    const visit = (name: string) => {
      const p = byName.get(name);
      if (!p || internal.has(name)) return;
      internal.add(name);
      for (const d of Object.keys({ ...p.pkg.dependencies, ...p.pkg.optionalDependencies })) visit(d);
      for (const peer of Object.keys(p.pkg.peerDependencies ?? {}))
        if (!p.pkg.peerDependenciesMeta?.[peer]?.optional) peers.add(peer);
    };
    budget.install.forEach(visit);
    // Packages named in the budget that are not ours (an optional peer such as webgpu): the user asks for them.
    const named = budget.install.filter((n) => !byName.has(n));
    const deps: Record<string, string> = {};
    for (const name of [...internal].sort()) deps[name] = tarballOf.get(name)!;
    for (const peer of [...peers, ...named].sort()) if (!internal.has(peer)) deps[peer] = tested[peer] ?? '*';
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify(
        {
          name: `cnnviz-budget-${i + 1}`,
          private: true,
          type: 'module',
          dependencies: deps,
        },
        null,
        2,
      ) + '\n',
    );
    const what = budget.install.join(' ');
    const out = sh(
      `npm install ${what}`,
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'],
      600,
      dir,
    );
    const mb = dirSize(join(dir, 'node_modules')) / 1e6;
    const listed = listedNames(
      sh(`npm ls ${what}`, 'npm', ['ls', '--all', '--parseable', '--long'], 120, dir),
    );
    const forbidden = Object.keys(policy.forbiddenInstalls).filter((n) => listed.has(n));
    // npm's advisory about an install script counts against us when it comes from our dependency tree, not from a
    // package the user named (webgpu, whose audited script is listed in package-policy.json).
    const warnings = installScriptWarnings(out);
    const warned = warnings.filter((w) => !named.some((n) => w.startsWith(`${n}@`)));
    const askedFor = warnings.filter((w) => !warned.includes(w));
    budgetLines.push(
      `install budget: npm i ${what} (+ ${[...peers].filter((p) => !internal.has(p)).join(', ')}): ` +
        `${mb.toFixed(1)} MB in node_modules (budget ${budget.maxMB} MB), ${listed.size} packages; ` +
        `npm ls --all: ${forbidden.length ? `has ${forbidden.join(', ')}` : `no ${Object.keys(policy.forbiddenInstalls).join(', no ')}`}; ` +
        `install-script warnings from our tree: ${warned.join(', ') || 'none'}` +
        (askedFor.length ? ` (npm lists ${askedFor.join(', ')}, asked for by name)` : ''),
    );
    if (mb > budget.maxMB)
      budgetProblems.push(`npm i ${what}: ${mb.toFixed(1)} MB exceeds ${budget.maxMB} MB`);
    for (const f of forbidden)
      budgetProblems.push(`npm i ${what} installs ${f}: ${policy.forbiddenInstalls[f]}`);
    for (const w of warned) budgetProblems.push(`npm i ${what}: npm warns about the install script of ${w}`);
    if (internal.has('@cnnviz/models')) {
      // The zoo as installed: MobileNetV2 where a backend is installed too; InceptionV3 loads where its weight
      // package is installed and is MODEL_NOT_INSTALLED, naming the `npm i` command, where it is not.
      const withInception = internal.has('@cnnviz/zoo-inception-v3');
      const script =
        "const cpu = await import('@tensorflow/tfjs-backend-cpu').then(() => true, () => false);" +
        "const { zoo } = await import('@cnnviz/models');" +
        'if (cpu) { const m = await zoo.mobilenetV2Features({ inputSize: 64 }); console.log(`mobilenetV2Features: ${m.layers.length} layers`); }' +
        'const e = await zoo.inceptionV3Features({ inputSize: 75 }).then(() => undefined, (err) => err);' +
        'console.log(e ? `inceptionV3Features: ${e.code}: ${e.message}` : "inceptionV3Features: loaded");';
      const zooOut = sh(`zoo in ${what}`, process.execPath, ['--input-type=module', '-e', script], 300, dir);
      const lines = zooOut.split('\n').filter((l) => /^(mobilenet|inception)V\dFeatures/.test(l));
      budgetLines.push(`  zoo: ${lines.join('; ') || zooOut}`);
      const expected = withInception
        ? /^inceptionV3Features: loaded$/m
        : /^inceptionV3Features: MODEL_NOT_INSTALLED: .*npm i @cnnviz\/zoo-inception-v3/m;
      if (!expected.test(zooOut))
        budgetProblems.push(`zoo.inceptionV3Features() in npm i ${what}: ${zooOut}`);
    }
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  for (const l of budgetLines) console.log(l);

  mkdirSync(app);
  const manifest = {
    name: 'cnnviz-smoke-consumer',
    private: true,
    type: 'module',
    dependencies: {
      ...Object.fromEntries(packed.map((p) => [p.name, `file:../tarballs/${p.filename}`])),
      '@tensorflow/tfjs-core': tested['@tensorflow/tfjs-core'],
      '@tensorflow/tfjs-layers': tested['@tensorflow/tfjs-layers'],
      '@tensorflow/tfjs-converter': tested['@tensorflow/tfjs-converter'],
      '@tensorflow/tfjs-backend-wasm': tested['@tensorflow/tfjs-backend-wasm'],
    },
    devDependencies: { typescript: rootVersion('typescript'), '@types/node': rootVersion('@types/node') },
  };
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  sh(
    'npm install',
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    600,
  );

  // One tfjs-core for the whole app, at the tested version; install scripts only from the audited list.
  const lock = new Lockfile(join(app, 'package-lock.json'));
  const problems: string[] = [...budgetProblems];
  const cores = Object.entries(lock.packages).filter(([loc]) =>
    loc.endsWith('node_modules/@tensorflow/tfjs-core'),
  );
  if (cores.length !== 1 || cores[0][1].version !== tested['@tensorflow/tfjs-core']) {
    problems.push(
      `expected one @tensorflow/tfjs-core@${tested['@tensorflow/tfjs-core']}, found ${cores.map(([l, e]) => `${l}@${e.version}`).join(', ')}`,
    );
  }
  const scripted = Object.entries(lock.packages)
    .filter(([, e]) => e.hasInstallScript)
    .map(([loc, e]) => ({ name: loc.slice(loc.lastIndexOf('node_modules/') + 13), version: e.version }));
  for (const s of scripted) {
    if (policy.auditedInstallScripts[s.name] === undefined)
      problems.push(`${s.name}@${s.version} has an unaudited install script`);
  }
  for (const loc of Object.keys(lock.packages)) {
    const name = loc.slice(loc.lastIndexOf('node_modules/') + 13);
    if (policy.forbiddenInstalls[name] !== undefined)
      problems.push(`the full install has ${loc}: ${policy.forbiddenInstalls[name]}`);
  }
  for (const p of packed) {
    const installed = lock.packages[`node_modules/${p.name}`];
    if (!installed || installed.version !== p.version)
      problems.push(`${p.name} was not installed from its tarball`);
  }
  const installedPackages = Object.keys(lock.packages).filter((l) => l.includes('node_modules/')).length;
  const installedMiB = dirSize(join(app, 'node_modules')) / 2 ** 20;

  // Consumers: scripts run in both module systems, then the types.
  for (const f of readdirSync(fixtures)) copyFileSync(join(fixtures, f), join(app, f));
  const examples: string[] = [];
  for (const p of pkgs.filter(hasCode)) {
    const example = readmeExample(readFileSync(join(p.dir, 'README.md'), 'utf8'));
    if (example === undefined) {
      problems.push(`${p.name}: README.md has no \`\`\`ts example`);
      continue;
    }
    writeFileSync(
      join(app, `readme-${p.unscoped}.ts`),
      `// From ${p.name}'s README.md\n${example}\nexport {};\n`,
    );
    examples.push(p.unscoped);
  }
  const esm = sh('node esm.mjs', process.execPath, ['esm.mjs'], 300);
  const cjs = sh('node cjs.cjs', process.execPath, ['cjs.cjs'], 300);
  // skipLibCheck is off, so errors inside @cnnviz's own .d.ts count; TF.js's .d.ts do not pass TypeScript 5.9's
  // strict checks themselves (tfjs-layers' PyJsonValue index types, tfjs-core's `Long`), and those are not ours.
  const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
  let foreignErrors = 0;
  for (const config of ['tsconfig.node16.json', 'tsconfig.bundler.json']) {
    // The node16 pass also emits build/readme-*.js, to run the examples below.
    const emit =
      config === 'tsconfig.node16.json' ? ['--noEmit', 'false', '--outDir', 'build'] : ['--noEmit'];
    const r = timed(`tsc -p ${config}`, () =>
      spawnSync(process.execPath, [tsc, ...emit, '--pretty', 'false', '-p', config], {
        cwd: app,
        encoding: 'utf8',
        timeout: 300_000,
      }),
    );
    const errors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^\S.*\(\d+,\d+\): error /.test(l));
    const ours = errors.filter(
      (l) => !l.startsWith('node_modules/') || l.startsWith('node_modules/@cnnviz/'),
    );
    foreignErrors += errors.length - ours.length;
    if (ours.length || (r.status !== 0 && errors.length === 0)) {
      problems.push(`tsc -p ${config}:\n${ours.join('\n') || r.error?.message || `${r.stdout}${r.stderr}`}`);
    }
  }
  // Run the README examples that finish in seconds on a CPU (policy `runReadmeExamples`); the rest are type-checked.
  const ran: string[] = [];
  for (const name of policy.runReadmeExamples) {
    const p = pkgs.find((q) => q.name === name);
    if (!p || !examples.includes(p.unscoped)) continue;
    try {
      sh(`README example of ${name}`, process.execPath, [join('build', `readme-${p.unscoped}.js`)], 300);
      ran.push(p.unscoped);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }

  console.log(
    esm
      .split('\n')
      .filter((l) => l.startsWith('esm:'))
      .join('\n') || esm,
  );
  console.log(
    cjs
      .split('\n')
      .filter((l) => l.startsWith('cjs:'))
      .join('\n') || cjs,
  );
  console.log(
    `installed ${installedPackages} packages, ${installedMiB.toFixed(0)} MiB in node_modules; install scripts: ` +
      (scripted.map((s) => `${s.name}@${s.version}`).join(', ') || 'none'),
  );
  console.log(
    `types: consumer.ts, consumer-cjs.cts and the README examples of ${examples.join(', ')} type-check (strict, ` +
      `node16 and bundler resolution; ${foreignErrors} errors inside TF.js's own .d.ts ignored); ran ${ran.join(', ') || 'none'}`,
  );
  if (problems.length) {
    console.error(`\nsmoke test FAILED:\n  - ${problems.join('\n  - ')}`);
    process.exitCode = 1;
  } else {
    ok = true;
  }
} catch (e) {
  console.error(`\nsmoke test FAILED: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  const total = timings.reduce((s, [, t]) => s + t, 0);
  console.log(
    `timings: ${timings.map(([w, t]) => `${w} ${t.toFixed(1)} s`).join(', ')}; total ${total.toFixed(1)} s`,
  );
  if (keep || !ok) console.log(`the smoke project is in ${app}`);
  if (!keep && ok) rmSync(work, { recursive: true, force: true });
}
if (ok) console.log('install smoke test passed');
