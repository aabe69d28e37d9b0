/**
 * A change to a published package needs a changeset (npm run changeset:check; run by .ci/run).
 *
 *   npx tsx scripts/check-changesets.ts [base]        (base: the branch to compare with, default "main")
 *
 * On a branch: `changeset status --since=<base>` fails when files of a package changed since the branch left
 * <base> and no changeset names that package. On <base> itself, or without it (a shallow CI checkout), there is
 * nothing to compare and the check says so and passes; the release script consumes the changesets.
 */
import { spawnSync } from 'node:child_process';
import { root } from './lib/workspace.js';

const base = process.argv[2] ?? 'main';
const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
const head = git('rev-parse', 'HEAD');
const baseRef = git('rev-parse', '--verify', '--quiet', base);
if (head.status !== 0 || baseRef.status !== 0) {
  console.log(`changeset check skipped: no git history or no "${base}" branch to compare with`);
} else if (head.stdout.trim() === baseRef.stdout.trim()) {
  console.log(
    `changeset check skipped: HEAD is ${base}; commits there carry their changesets (see CONTRIBUTING.md)`,
  );
} else {
  const r = spawnSync('npx', ['changeset', 'status', `--since=${base}`], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(
      `\nA package changed since ${base} without a changeset: run \`npx changeset\` and commit the file.`,
    );
    process.exit(1);
  }
}
