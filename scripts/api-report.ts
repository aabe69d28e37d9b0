// API reports (API Extractor) for every public package, from its built dist/index.d.ts.
//
//   npx tsx scripts/api-report.ts --check [pkg...]   CI (npm run api:check): fail when packages/<pkg>/etc/ is out of date
//   npx tsx scripts/api-report.ts --update [pkg...]  accept the current public API (npm run api:update)
//   npx tsx scripts/api-report.ts --model [pkg...]   only the doc model, the reports untouched (for api-docs.ts)
//
// Every mode writes the doc model (out/api-model/<pkg>.api.json) that scripts/api-docs.ts renders.
// Run `npm run build` first: the reports describe what would be published, i.e. dist.
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { hasCode, root, selectPackages } from './lib/workspace.js';

const args = process.argv.slice(2);
const update = args.includes('--update');
const modelOnly = args.includes('--model');
if (!update && !modelOnly && !args.includes('--check')) {
  console.error('usage: npx tsx scripts/api-report.ts --check | --update | --model [package...]');
  process.exit(2);
}
const modelDir = join(root, 'out', 'api-model');
const tempDir = join(tmpdir(), 'cnnviz-api-report');
mkdirSync(modelDir, { recursive: true });

let failed = 0;
// The zoo's weight packages have no JavaScript, hence no API.
for (const p of selectPackages(args).filter(hasCode)) {
  const entry = join(p.dir, 'dist', 'index.d.ts');
  if (!existsSync(entry)) {
    console.error(`${p.name}: ${relative(root, entry)} is missing; run \`npm run build\` first`);
    failed++;
    continue;
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: p.dir,
      mainEntryPointFilePath: entry,
      // The d.ts files are tsup's rollups; the compiler settings only need to resolve their imports.
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'ESNext',
            moduleResolution: 'Bundler',
            lib: ['ES2022', 'DOM'],
            strict: true,
            skipLibCheck: true,
            esModuleInterop: true,
            types: ['node'],
          },
          files: [entry],
        },
      },
      apiReport: {
        enabled: !modelOnly,
        reportFileName: `${p.unscoped}`,
        reportFolder: join(p.dir, 'etc'),
        reportTempFolder: join(tempDir, p.unscoped),
        // A type reachable from the API but not exported (e.g. the functions behind the `zoo` namespace) is
        // written out too, so a change to it also changes the report.
        includeForgottenExports: true,
      },
      docModel: {
        enabled: true,
        apiJsonFilePath: join(modelDir, `${p.unscoped}.api.json`),
        includeForgottenExports: true,
      },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      newlineKind: 'lf',
      messages: {
        compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
        // Other findings are written into the report, where a reviewer sees them, instead of failing the build.
        extractorMessageReporting: {
          default: { logLevel: ExtractorLogLevel.None, addToApiReportFile: true },
          'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
          // These two would add d.ts line numbers to the report, which then changes with every edit of a doc
          // comment; the report marks members "(undocumented)" anyway, and forgotten exports are printed below.
          'ae-undocumented': { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
          'ae-forgotten-export': { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: false },
        },
        // The doc comments are plain JSDoc, not strict TSDoc; its syntax warnings would only be noise.
        tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
      },
    },
    configObjectFullPath: undefined,
    packageJsonFullPath: join(p.dir, 'package.json'),
  });
  const reportPath = join(p.dir, 'etc', `${p.unscoped}.api.md`);
  if (update) mkdirSync(join(p.dir, 'etc'), { recursive: true });
  const before = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : null;
  const result = Extractor.invoke(config, {
    localBuild: update || modelOnly,
    messageCallback: (m) => {
      // API Extractor's own "the API report changed" notices are replaced by the summary below.
      if (m.messageId === 'console-api-report-changed' || m.messageId === 'console-api-report-copied') {
        m.handled = true;
      }
      if (m.logLevel === ExtractorLogLevel.Verbose || m.logLevel === ExtractorLogLevel.Info) m.handled = true;
    },
  });
  const rel = relative(root, reportPath);
  if (result.errorCount > 0) {
    console.error(`${p.name}: API Extractor reported ${result.errorCount} error(s)`);
    failed++;
  } else if (modelOnly) {
    console.log(`${p.name}: doc model written`);
  } else if (update) {
    const after = readFileSync(reportPath, 'utf8');
    console.log(
      `${p.name}: ${before === after ? 'unchanged' : before === null ? 'created' : 'updated'} ${rel}`,
    );
  } else if (result.apiReportChanged) {
    failed++;
    const fresh = join(tempDir, p.unscoped, `${p.unscoped}.api.md`);
    console.error(`${p.name}: the public API differs from ${rel}`);
    if (existsSync(reportPath)) {
      const diff = spawnSync('diff', ['-u', reportPath, fresh], { encoding: 'utf8' });
      const lines = (diff.stdout || '').split('\n');
      console.error(
        lines.slice(0, 200).join('\n') +
          (lines.length > 200 ? `\n... (${lines.length - 200} more lines)` : ''),
      );
    } else {
      console.error(`  (no report checked in yet)`);
    }
  } else {
    console.log(`${p.name}: API matches ${rel}`);
  }
}
if (failed) {
  console.error(
    `\n${failed} package(s) failed the API check. If the change is intended, run \`npm run api:update\`, ` +
      'review the diff of packages/*/etc/*.api.md, commit it and add a changeset (`npx changeset`).',
  );
  process.exit(1);
}
