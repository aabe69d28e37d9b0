#!/usr/bin/env node
/* global process, URL */
// The `cnnviz` command. A stub, committed, that loads the CLI `npm run build` writes to dist/: npm links a package's
// commands when it installs it, and in this repository that is `npm ci`, before anything is built.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('cnnviz: dist/cli.js is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(cli.href);
