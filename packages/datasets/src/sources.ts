import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { CnnvizError } from '@cnnviz/core';
import { glob, hasMagic } from '@cnnviz/node';

/** One image of a data set: its file and, when the data set says, its class. */
export interface ImageEntry {
  path: string;
  label?: string;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp']);

export interface ListImagesOptions {
  /**
   * Label images of a folder by the name of the folder that holds them (`cats/1.png` is `cats`)
   * when they sit in sub-folders. Default true.
   */
  folderLabels?: boolean;
}

/**
 * The images of a data set, sorted by path (so that batches, and the queue's job ids, are the
 * same on every run): a folder (searched recursively for PNG/JPEG/WebP files), a glob
 * (`"photos/**\/*.jpg"`), a manifest (`.csv` with a `path` column and an optional `label` column,
 * or `.jsonl` lines `{"path": ..., "label": ...}`; relative paths are relative to the manifest),
 * or a list of any of these. Only paths are held in memory, never pixels.
 */
export async function listImages(
  source: string | string[] | ImageEntry[],
  options: ListImagesOptions = {},
): Promise<ImageEntry[]> {
  const sources = Array.isArray(source) ? source : [source];
  const out: ImageEntry[] = [];
  for (const s of sources) {
    if (typeof s === 'object' && s !== null && typeof s.path === 'string') out.push(s);
    else if (typeof s === 'string') out.push(...(await listOne(s, options)));
    else
      throw new CnnvizError(
        'BAD_INPUT',
        'a data set is a folder, a glob, a manifest file or { path } entries',
      );
  }
  const seen = new Map<string, ImageEntry>();
  for (const e of out) seen.set(resolve(e.path), { ...e, path: resolve(e.path) });
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function listOne(source: string, options: ListImagesOptions): Promise<ImageEntry[]> {
  if (hasMagic(source)) {
    const files = glob(source).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()));
    if (files.length === 0) throw new CnnvizError('IO', `no image files match "${source}"`);
    return files.map((path) => ({ path }));
  }
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new CnnvizError('IO', `no such folder, glob or manifest: "${source}"`);
  }
  if (info.isDirectory()) return listFolder(source, options.folderLabels ?? true);
  const ext = extname(source).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return readCsv(source, ext === '.tsv' ? '\t' : ',');
  if (ext === '.jsonl' || ext === '.ndjson') return readJsonl(source);
  if (IMAGE_EXT.has(ext)) return [{ path: source }];
  throw new CnnvizError(
    'BAD_INPUT',
    `"${source}" is neither a folder, an image, nor a manifest (.csv with a path column, or .jsonl)`,
  );
}

async function listFolder(root: string, folderLabels: boolean): Promise<ImageEntry[]> {
  const names = (await readdir(root, { recursive: true })) as string[];
  const out: ImageEntry[] = [];
  for (const name of names) {
    if (!IMAGE_EXT.has(extname(name).toLowerCase())) continue;
    if (name.split(sep).some((part) => part.startsWith('.'))) continue;
    const path = join(root, name);
    const folder = dirname(name);
    out.push(folderLabels && folder !== '.' ? { path, label: basename(folder) } : { path });
  }
  if (out.length === 0) throw new CnnvizError('IO', `no PNG, JPEG or WebP images in "${root}"`);
  return out;
}

const near = (manifest: string, p: string) => (isAbsolute(p) ? p : join(dirname(manifest), p));

/** One CSV line split on `delimiter`, honouring double quotes (RFC 4180). */
function splitCsv(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells.map((c) => c.trim());
}

async function readCsv(file: string, delimiter: string): Promise<ImageEntry[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new CnnvizError('BAD_INPUT', `manifest ${file} is empty`);
  const head = splitCsv(lines[0], delimiter).map((h) => h.toLowerCase());
  const hasHeader = head.includes('path');
  const pathCol = hasHeader ? head.indexOf('path') : 0;
  const labelCol = hasHeader ? head.indexOf('label') : 1;
  return lines.slice(hasHeader ? 1 : 0).map((line, i) => {
    const cells = splitCsv(line, delimiter);
    const p = cells[pathCol];
    if (!p)
      throw new CnnvizError(
        'BAD_INPUT',
        `${file} line ${i + (hasHeader ? 2 : 1)}: no path (expected path[,label])`,
      );
    const label = labelCol >= 0 ? cells[labelCol] : undefined;
    return label ? { path: near(file, p), label } : { path: near(file, p) };
  });
}

async function readJsonl(file: string): Promise<ImageEntry[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
  const out: ImageEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new CnnvizError('BAD_INPUT', `${file} line ${i + 1} is not JSON`);
    }
    const r = row as { path?: unknown; label?: unknown };
    if (typeof r?.path !== 'string')
      throw new CnnvizError('BAD_INPUT', `${file} line ${i + 1}: expected {"path": "...", "label"?: ...}`);
    out.push(
      r.label !== undefined && r.label !== null
        ? { path: near(file, r.path), label: String(r.label) }
        : { path: near(file, r.path) },
    );
  });
  return out;
}
