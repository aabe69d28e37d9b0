import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '@cnnviz/core';

// A model.json is data from anywhere: before a weight byte is read, its manifest must describe
// well-formed tensors and its weight paths must stay inside the model's folder (or URL path).

/** A model.json larger than this is refused before it is parsed (the zoo's largest is ~0.3 MB). */
export const DEFAULT_MAX_MODEL_JSON_BYTES = 64 * 2 ** 20;

/** Limits on what a model file may make cnnviz read. */
export interface ModelFileLimits {
  /** Bytes; default `DEFAULT_MAX_MODEL_JSON_BYTES` (64 MiB). */
  maxModelJsonBytes?: number;
}

export function loadError(path: string, what: string, cause?: unknown): CnnvizError {
  const msg = cause instanceof Error ? `: ${cause.message}` : '';
  return new CnnvizError('MODEL_LOAD', `cannot load model ${path}: ${what}${msg}`, { cause });
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };
/** TF.js cannot hold a tensor with more elements than an Int32 index reaches. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** One weight group of a checked manifest: its files, and the bytes they must hold together. */
export interface ManifestGroup {
  paths: string[];
  /** Undefined when a string tensor makes the length variable. */
  bytes: number | undefined;
}

/**
 * Checks `weightsManifest` field by field (groups with string paths; weights with a name, a shape
 * of non-negative integers, a known dtype and quantisation) and sums the bytes each group must
 * hold. Anything else is MODEL_LOAD naming the entry, before a weight file is opened.
 */
export function checkManifest(
  manifest: unknown,
  where: string,
  maxBytes = Number.MAX_SAFE_INTEGER,
): ManifestGroup[] {
  if (manifest === undefined || manifest === null) return [];
  const bad = (why: string) => loadError(where, `weightsManifest ${why}`);
  if (!Array.isArray(manifest)) throw bad('is not a list of weight groups');
  let total = 0;
  return manifest.map((group: unknown, g) => {
    const gr = group as { paths?: unknown; weights?: unknown };
    if (typeof gr !== 'object' || gr === null) throw bad(`group ${g} is not an object`);
    if (
      !Array.isArray(gr.paths) ||
      !gr.paths.every((p) => typeof p === 'string' && p.length > 0 && !p.includes('\0'))
    )
      throw bad(`group ${g}: paths must be a list of file names`);
    if (!Array.isArray(gr.weights)) throw bad(`group ${g}: weights must be a list`);
    let bytes: number | undefined = 0;
    gr.weights.forEach((w: unknown, i) => {
      const e = w as Partial<tf.io.WeightsManifestEntry>;
      const label = `group ${g} weight ${i}${typeof e?.name === 'string' ? ` "${e.name.slice(0, 80)}"` : ''}`;
      if (typeof e !== 'object' || e === null || typeof e.name !== 'string')
        throw bad(`${label} has no name`);
      if (
        !Array.isArray(e.shape) ||
        e.shape.length > 8 ||
        !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
      )
        throw bad(
          `${label}: shape must be a list of at most 8 non-negative integers, got ${JSON.stringify(e.shape)?.slice(0, 80)}`,
        );
      const n = e.shape.reduce((a, b) => a * b, 1);
      if (n > MAX_ELEMENTS)
        throw bad(`${label}: shape [${e.shape.join(',')}] has ${n} elements, more than TF.js can hold`);
      if (e.dtype === 'string') {
        bytes = undefined;
        return;
      }
      if (DTYPE_BYTES[e.dtype as string] === undefined)
        throw bad(
          `${label}: unknown dtype ${JSON.stringify(e.dtype)?.slice(0, 40)} (expected float32, int32, bool, string or complex64)`,
        );
      let size = DTYPE_BYTES[e.dtype as string];
      if (e.quantization !== undefined) {
        const q = e.quantization as { dtype?: unknown; scale?: unknown; min?: unknown };
        if (typeof q !== 'object' || q === null || QUANT_BYTES[q.dtype as string] === undefined)
          throw bad(
            `${label}: unknown quantization ${JSON.stringify(q)?.slice(0, 80)} (expected uint8, uint16 or float16)`,
          );
        if (q.dtype !== 'float16' && (!Number.isFinite(q.scale) || !Number.isFinite(q.min)))
          throw bad(`${label}: ${String(q.dtype)} quantization needs a finite scale and min`);
        size = QUANT_BYTES[q.dtype as string];
      }
      if (bytes !== undefined) bytes += n * size;
    });
    if (bytes !== undefined) {
      total += bytes;
      if (total > maxBytes) throw bad(`describes ${total} bytes of weights, more than ${maxBytes}`);
    }
    return { paths: gr.paths as string[], bytes };
  });
}

/**
 * The URL of `path` relative to `modelUrl`, refused (MODEL_LOAD) when it leaves the model's origin
 * or the folder model.json sits in (`../`, an absolute path, another host, `%2e%2e`).
 */
export function weightUrl(modelUrl: string, path: string): string {
  // A relative model URL (in a page) is relative to the page.
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  const base = new URL(modelUrl, page);
  const folder = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
  let url: URL;
  try {
    url = new URL(path, base);
  } catch (e) {
    throw loadError(modelUrl, `weight path ${JSON.stringify(path)} is not a URL path`, e);
  }
  // As tf.io.http does: the model URL's query (a cache buster, a token) goes on each weight URL.
  if (url.search === '' && base.search !== '') url.search = base.search;
  if (url.origin !== base.origin || !url.pathname.startsWith(folder))
    throw loadError(
      modelUrl,
      `weight path ${JSON.stringify(path)} leaves the model's folder (${base.origin}${folder})`,
    );
  return url.href;
}

/**
 * A response whose body is read up to `max` bytes; a longer one (by Content-Length or while
 * streaming) is refused, so a hostile server cannot make the loader buffer gigabytes.
 */
async function limitedBody(res: Response, max: number, url: string, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max)
    throw loadError(url, `${what} is ${declared} bytes, over the limit of ${max}`);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const parts: Uint8Array[] = [];
  let n = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel();
      throw loadError(url, `${what} is over the limit of ${max} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * `tf.io.http` with cnnviz's checks: model.json at most `maxModelJsonBytes` and its manifest
 * checked before any weight request; weight URLs inside the model's origin and folder; each
 * weight response no longer than what the manifest describes for its group.
 */
export function httpHandler(modelUrl: string, limits: ModelFileLimits = {}): tf.io.IOHandler {
  const maxJson = limits.maxModelJsonBytes ?? DEFAULT_MAX_MODEL_JSON_BYTES;
  const platformFetch = (url: string, init?: RequestInit) =>
    tf.env().platform.fetch(url, init) as Promise<Response>;
  /** The most bytes each weight URL may hold: its group's total (known once model.json is read). */
  const budget = new Map<string, number>();
  const fetchFunc = async (input: URL | RequestInfo, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const res = await platformFetch(url, init);
    if (!res.ok) return res;
    if (url === modelUrl) {
      const body = await limitedBody(res, maxJson, modelUrl, 'model.json');
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(new TextDecoder().decode(body)) as tf.io.ModelJSON;
      } catch (e) {
        throw loadError(modelUrl, 'model.json is not valid JSON', e);
      }
      for (const group of checkManifest(json?.weightsManifest, modelUrl))
        for (const p of group.paths)
          budget.set(weightUrl(modelUrl, p), group.bytes ?? Number.MAX_SAFE_INTEGER);
      return new Response(body as BlobPart, { status: 200, headers: { 'content-type': 'application/json' } });
    }
    const max = budget.get(url);
    if (max === undefined) throw loadError(modelUrl, `unexpected request for ${url}`);
    return new Response((await limitedBody(res, max, url, 'the weight file')) as BlobPart, { status: 200 });
  };
  return tf.io.http(modelUrl, {
    fetchFunc,
    weightUrlConverter: async (path: string) => weightUrl(modelUrl, path),
  });
}
