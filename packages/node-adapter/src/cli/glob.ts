import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAGIC = /[*?[{]/;

/** True when `pattern` has glob syntax (`*`, `?`, `[...]`, `{a,b}`). */
export function hasMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/** `{a,b}` alternatives expanded, innermost last: `x.{png,jpg}` → `x.png`, `x.jpg`. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) {
      if (commas.length === 0) break; // `{x}` is literal, as in bash
      const head = pattern.slice(0, open);
      const tail = pattern.slice(i + 1);
      const cuts = [open, ...commas, i];
      const parts = cuts.slice(0, -1).map((c, j) => pattern.slice(c + 1, cuts[j + 1]));
      return parts.flatMap((p) => expandBraces(head + p + tail));
    } else if (ch === ',' && depth === 1) commas.push(i);
  }
  return [pattern];
}

/** One path segment's pattern (`*.png`, `img-??.[jp]*g`) as an anchored regular expression. */
export function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = segment.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^$()|\\\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function listDir(dir: string): { name: string; isDir: boolean }[] {
  try {
    return readdirSync(dir || '.', { withFileTypes: true }).map((d) => {
      let isDir = d.isDirectory();
      if (d.isSymbolicLink()) {
        try {
          isDir = statSync(join(dir || '.', d.name)).isDirectory();
        } catch {
          isDir = false;
        }
      }
      return { name: d.name, isDir };
    });
  } catch {
    return [];
  }
}

function walk(base: string, segments: string[], out: Set<string>): void {
  if (segments.length === 0) {
    out.add(base);
    return;
  }
  const [seg, ...rest] = segments;
  const child = (name: string) => (base === '' ? name : base === '/' ? `/${name}` : `${base}/${name}`);
  if (seg === '**') {
    walk(base, rest, out); // zero directories
    for (const e of listDir(base)) {
      if (e.name.startsWith('.')) continue;
      if (e.isDir) walk(child(e.name), segments, out);
      else if (rest.length === 0) out.add(child(e.name)); // a trailing ** matches files too
    }
    return;
  }
  if (!hasMagic(seg)) {
    const next = child(seg);
    if (rest.length === 0) {
      try {
        statSync(next);
        out.add(next);
      } catch {
        /* no such file: no match */
      }
    } else walk(next, rest, out);
    return;
  }
  const re = segmentRegExp(seg);
  for (const e of listDir(base)) {
    // Like shells, wildcards skip dot files unless the pattern itself starts with a dot.
    if (e.name.startsWith('.') && !seg.startsWith('.')) continue;
    if (!re.test(e.name)) continue;
    if (rest.length === 0) out.add(child(e.name));
    else if (e.isDir) walk(child(e.name), rest, out);
  }
}

/**
 * Files matching a glob (Node 20 has no fs.glob): `*`, `?`, `[abc]`, `[!abc]`, `{a,b}` and `**`
 * for any depth. Returns sorted paths that are files (directories are left out), relative when
 * the pattern is. A pattern without glob syntax returns itself if the file exists.
 */
export function glob(pattern: string): string[] {
  const out = new Set<string>();
  for (const p of expandBraces(pattern.replace(/\\/g, '/'))) {
    const absolute = p.startsWith('/');
    const segments = p.split('/').filter((s, i) => s !== '' && !(s === '.' && i === 0));
    walk(absolute ? '/' : '', segments, out);
  }
  return [...out]
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}
