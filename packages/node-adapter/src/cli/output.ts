import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CliError } from './errors.js';

const fix = 'choose another --output or fix the directory';

function whyNot(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOTDIR') return 'a path component is a file, not a directory';
  if (code === 'ENOSPC') return 'no space left on the device';
  return (e as Error).message;
}

/**
 * Throws IO unless files can be created in `dir` (or, when it does not exist yet, in its nearest
 * existing ancestor, where it would be created). Probes by creating and deleting a file, because
 * `access(W_OK)` says yes to root even on read-only mounts.
 */
export function checkWritableDir(dir: string, what = 'output directory'): void {
  let probe = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(probe);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(probe) !== probe) {
        probe = dirname(probe);
        continue;
      }
      throw new CliError('IO', `${what} "${dir}" is not writable (${whyNot(e)}) — ${fix}`);
    }
    if (!st.isDirectory()) {
      throw new CliError(
        'IO',
        `${what} "${dir}" is not writable ("${probe}" is a file, not a directory) — ${fix}`,
      );
    }
    break;
  }
  const file = join(probe, `.cnnviz-write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(file, '', { flag: 'wx' });
    rmSync(file, { force: true });
  } catch (e) {
    throw new CliError('IO', `${what} "${dir}" is not writable (${whyNot(e)}) — ${fix}`);
  }
}

/** Creates `dir` (and parents) if missing; IO error naming it otherwise. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new CliError('IO', `cannot create output directory "${dir}" (${whyNot(e)}) — ${fix}`);
  }
}

/** Creates `dir` synchronously (used before a run writes several files into it). */
export function ensureDirSync(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError('IO', `cannot create output directory "${dir}" (${whyNot(e)}) — ${fix}`);
  }
}

/** Writes text or bytes to `path` through a temporary file and a rename, so no reader sees half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await ensureDir(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new CliError('IO', `cannot write "${path}" (${whyNot(e)}) — ${fix}`);
  }
}

function isDirectoryLike(path: string): boolean {
  if (path.endsWith('/') || path.endsWith('\\')) return true;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A file-name-safe stem: `photos/Cat 01.jpg` → `Cat_01`. */
export function stem(path: string): string {
  const base = basename(path, extname(path));
  return base.replace(/[^A-Za-z0-9._-]+/g, '_') || 'image';
}

/**
 * Output paths for `inputs` (one per input): `-o file.png` for one input, `-o dir/` (or an
 * existing directory) for any number; without `-o`, `<stem>.<suffix>.png` in the current
 * directory. Checks that the directory is writable before any work starts.
 */
export function outputPaths(
  inputs: string[],
  output: string | undefined,
  suffix: string,
  ext = '.png',
): string[] {
  let dir: string;
  let single: string | undefined;
  if (output !== undefined && !isDirectoryLike(output)) {
    if (inputs.length > 1) {
      throw new CliError(
        'BAD_OPTION',
        `--output "${output}" names one file but ${inputs.length} images were given — pass a directory (ending in /) for several outputs`,
      );
    }
    if (extname(output).toLowerCase() !== ext) {
      throw new CliError(
        'BAD_OPTION',
        `--output "${output}" must end in ${ext} (the output is a ${ext.slice(1).toUpperCase()} file)`,
      );
    }
    dir = dirname(output);
    single = output;
  } else {
    dir = output ?? '.';
  }
  checkWritableDir(dir);
  if (single) return [single];
  const seen = new Map<string, number>();
  return inputs.map((input) => {
    const s = stem(input);
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    return join(dir, `${s}${n > 1 ? `-${n}` : ''}.${suffix}${ext}`);
  });
}

/** The output path of a command that writes one file not tied to an input image. */
export function singleOutput(output: string | undefined, defaultName: string, ext = '.png'): string {
  const name = `${defaultName}${ext}`;
  const path = output === undefined ? name : isDirectoryLike(output) ? join(output, name) : output;
  if (output !== undefined && !isDirectoryLike(output) && extname(output).toLowerCase() !== ext) {
    throw new CliError(
      'BAD_OPTION',
      `--output "${output}" must end in ${ext} (the output is a ${ext.slice(1).toUpperCase()} file)`,
    );
  }
  checkWritableDir(dirname(path));
  return path;
}
