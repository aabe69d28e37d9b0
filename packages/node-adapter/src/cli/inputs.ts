import { statSync } from 'node:fs';
import { CliError } from './errors.js';
import { glob, hasMagic } from './glob.js';

/** An image argument resolved to a file, or to one of @cnnviz/models' bundled images. */
export interface ImageInput {
  /** What the user typed (a file path, or the bundled image's name). */
  name: string;
  path?: string;
  bundled?: string;
}

/**
 * Resolves image arguments before anything heavy loads: globs are expanded (quoted globs reach us
 * unexpanded), plain paths must exist and be files, and a name that is no file but is one of
 * `bundled` (e.g. `chelsea`) means that bundled image. A miss is one IO error with the fix.
 */
export function resolveInputs(args: string[], bundled: string[] = []): ImageInput[] {
  const out: ImageInput[] = [];
  for (const arg of args) {
    if (hasMagic(arg)) {
      const files = glob(arg);
      if (files.length === 0) {
        throw new CliError(
          'IO',
          `no files match "${arg}" — check the pattern (quote it so the shell passes it unexpanded)`,
        );
      }
      for (const f of files) out.push({ name: f, path: f });
      continue;
    }
    let isFile = false;
    let isDir = false;
    try {
      const st = statSync(arg);
      isFile = st.isFile();
      isDir = st.isDirectory();
    } catch {
      /* not a file: maybe a bundled image */
    }
    if (isFile) out.push({ name: arg, path: arg });
    else if (isDir) {
      throw new CliError(
        'IO',
        `cannot read image "${arg}": it is a directory — pass image files, or a glob such as "${arg.replace(/\/$/, '')}/*.png"`,
      );
    } else if (bundled.includes(arg)) out.push({ name: arg, bundled: arg });
    else {
      const names = bundled.length ? `; bundled images: ${bundled.join(', ')}` : '';
      throw new CliError('IO', `cannot read image "${arg}": no such file — pass a PNG or JPEG path${names}`);
    }
  }
  return out;
}
