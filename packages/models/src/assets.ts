import { CnnvizError } from '@cnnviz/core';

// The package's `assets/` folder sits one level above both `src/` and `dist/`.
let base: URL = new URL('../assets/', import.meta.url);

/**
 * Where bundled assets (fashionCnn weights, images, the Fashion-MNIST subset) are read from. In
 * Node they are read from the installed package; a web app that serves the package's `assets/`
 * folder elsewhere points cnnviz at it here.
 */
export function setAssetBase(url: string | URL): void {
  base = new URL(String(url).endsWith('/') ? String(url) : `${String(url)}/`, globalThis.location?.href);
}

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** The current base URL of the bundled assets (see `setAssetBase`). */
export function assetBase(): URL {
  return base;
}

/** The bytes of a bundled asset (`fashion-cnn/model.json`, `images/chelsea.jpg`, ...). */
export async function readAsset(rel: string): Promise<Uint8Array> {
  return readUrl(new URL(rel, base), 'bundled asset');
}

/**
 * The bytes at `url`: read from disk for `file:` URLs in Node, fetched otherwise. `what` names the file in
 * errors; `missing` makes the error for a file that does not exist (ENOENT, HTTP 404), MODEL_LOAD by default.
 */
export async function readUrl(url: URL, what: string, missing?: () => CnnvizError): Promise<Uint8Array> {
  if (isNode() && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    const path = fileURLToPath(url);
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      if (missing && (e as { code?: string }).code === 'ENOENT') throw missing();
      throw new CnnvizError('MODEL_LOAD', `cannot read ${what} ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new CnnvizError('MODEL_LOAD', `cannot fetch ${what} ${url.href}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (missing && res.status === 404) throw missing();
  if (!res.ok) throw new CnnvizError('MODEL_LOAD', `cannot fetch ${what} ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * gunzip in Node (zlib) or the browser (DecompressionStream). Data without the gzip magic bytes passes
 * through: a static server that sends `.gz` files with `Content-Encoding: gzip` has the browser unpack them.
 */
export async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  if (data[0] !== 0x1f || data[1] !== 0x8b) return data;
  if (isNode()) {
    const { gunzipSync } = await import('node:zlib');
    return new Uint8Array(gunzipSync(data));
  }
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
