import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, CnnvizError } from '@cnnviz/core';
import { encodePng, readImage } from '@cnnviz/node';
import { loadMapData, NO_CATEGORY, type LoadMapDataOptions, type MapData } from './map-data.js';
import { buildVectorIndex, EXACT_BELOW, hasVectorIndex, storeKnn } from './store-knn.js';
import { openTable } from './store.js';

/** Where the map is (store, table, name) and how to serve it; `signal` also closes the server. */
export interface ServeMapOptions extends LoadMapDataOptions {
  /** Default 0: any free port (the URL says which). */
  port?: number;
  /** Default 127.0.0.1: only this machine. `0.0.0.0` shows the map (and its images) to the network. */
  host?: string;
  /** Largest side of a thumbnail in pixels (default 128); smaller images are sent as they are. */
  thumbnailSize?: number;
  /** Images whose header declares more pixels are refused, as `readImage` (default its limit). */
  maxPixels?: number;
  /** Most neighbours one request may ask for (default 50). */
  maxNeighbours?: number;
  /**
   * Build the table's vector index in the background when neighbour searches will need one and it
   * has none (from `EXACT_BELOW` rows; default true), so that the first click does not wait minutes.
   */
  prepareIndex?: boolean;
  /** The built viewer (index.html + assets/); default the one built into this package's dist/viewer. */
  viewerDir?: string;
}

/** A running map server. */
export interface MapServer {
  /** `http://host:port/`. */
  url: string;
  /** Points on the map. */
  n: number;
  /** Seconds spent reading the map and rows before listening. */
  loadSeconds: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** The built page: <package>/dist/viewer, from dist/index.(c)js and from src/ (tests) alike. */
function defaultViewerDir(): string {
  return fileURLToPath(new URL('../dist/viewer/', import.meta.url));
}

/** Every file of the built page by URL path, listed once: requests name one of these or nothing. */
function listViewer(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else if (TYPES[extname(name)]) files.set(`/${rel}`, join(dir, rel));
    }
  };
  walk('');
  if (files.has('/index.html')) files.set('/', join(dir, 'index.html'));
  return files;
}

/**
 * The points as one buffer, in the order the page reads them: x (Float32 x n), y (Float32 x n), both
 * scaled into -1..1 with the aspect kept; label index (Uint16 x n, 65535 = none); prediction index
 * (Uint16 x n). 12 bytes a point: 12 MB for a million.
 */
function pointsBuffer(d: MapData): { buffer: Buffer; center: [number, number]; scale: number } {
  const { n, x, y } = d;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (x[i] < x0) x0 = x[i];
    if (x[i] > x1) x1 = x[i];
    if (y[i] < y0) y0 = y[i];
    if (y[i] > y1) y1 = y[i];
  }
  if (!(x1 >= x0 && y1 >= y0)) x0 = x1 = y0 = y1 = 0;
  const center: [number, number] = [(x0 + x1) / 2, (y0 + y1) / 2];
  const scale = 1 / Math.max((x1 - x0) / 2, (y1 - y0) / 2, 1e-12);
  const buffer = Buffer.alloc(12 * n);
  const fx = new Float32Array(buffer.buffer, buffer.byteOffset, n);
  const fy = new Float32Array(buffer.buffer, buffer.byteOffset + 4 * n, n);
  for (let i = 0; i < n; i++) {
    fx[i] = (x[i] - center[0]) * scale;
    fy[i] = (y[i] - center[1]) * scale;
  }
  new Uint16Array(buffer.buffer, buffer.byteOffset + 8 * n, n).set(d.label);
  new Uint16Array(buffer.buffer, buffer.byteOffset + 10 * n, n).set(d.prediction);
  return { buffer, center, scale };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Serves the map viewer for one map of a feature table: the built page, the points as one binary
 * buffer, each row's details, thumbnails and feature-space neighbours (`storeKnn`). Requests name
 * rows by id only; the only files read are the page's own and the images stored in the table.
 * Resolves once listening; the map and rows are read first, so a missing table or map throws here.
 */
export async function serveMap(options: ServeMapOptions): Promise<MapServer> {
  const thumbSize = options.thumbnailSize ?? 128;
  checkNumber(thumbSize, 'thumbnailSize', { integer: true, min: 8, max: 1024 });
  const maxK = options.maxNeighbours ?? 50;
  checkNumber(maxK, 'maxNeighbours', { integer: true, min: 1, max: 1000 });
  const viewerDir = options.viewerDir ?? defaultViewerDir();
  if (!existsSync(join(viewerDir, 'index.html')))
    throw new CnnvizError(
      'BAD_OPTION',
      `the map viewer's page is not built in ${viewerDir}: npm run build -w @cnnviz/datasets`,
    );
  const files = listViewer(viewerDir);
  const start = performance.now();
  const data = await loadMapData(options);
  const points = pointsBuffer(data);
  const loadSeconds = (performance.now() - start) / 1000;
  const info = JSON.stringify({
    table: data.table,
    name: data.name,
    store: options.store ?? './cnnviz-store',
    n: data.n,
    map: data.meta,
    model: data.model,
    layer: data.layer,
    labels: data.labels,
    classes: data.classes,
    noCategory: NO_CATEGORY,
    // page coordinate = (stored - center) * scale
    center: points.center,
    scale: points.scale,
    layout: 'x f32[n], y f32[n], label u16[n], prediction u16[n]',
  });

  // storeKnn searches a large table through its vector index, building it on first use (minutes for
  // 10^5 rows on 2 cores): start that build now, so that a click seldom waits for it.
  const indexReady =
    data.n >= EXACT_BELOW && options.prepareIndex !== false
      ? (async () => {
          const t = await openTable(options);
          if (t && !(await hasVectorIndex(t))) await buildVectorIndex(options);
        })().catch(() => undefined)
      : Promise.resolve();

  const rowOf = (id: number) => ({
    id,
    path: data.paths[id],
    label: data.label[id] === NO_CATEGORY ? null : data.labels[data.label[id]],
    prediction: data.prediction[id],
    predictionName: data.classes[data.prediction[id]],
    probability: data.probability[id],
    x: data.x[id],
    y: data.y[id],
  });

  const thumbs = new Map<number, Promise<Buffer>>();
  const thumbnail = (id: number): Promise<Buffer> => {
    let t = thumbs.get(id);
    if (!t) {
      t = makeThumbnail(data.paths[id], thumbSize, options.maxPixels);
      t.catch(() => thumbs.delete(id));
      thumbs.set(id, t);
      // A bounded cache: the oldest thumbnails go first.
      if (thumbs.size > 4096) thumbs.delete(thumbs.keys().next().value as number);
    }
    return t;
  };

  const idFrom = (s: string): number => {
    const id = /^\d{1,10}$/.test(s) ? Number(s) : NaN;
    if (!(id < data.n)) throw new HttpError(404, 'NOT_FOUND', `no row ${s}: ids are 0..${data.n - 1}`);
    return id;
  };

  // On a loopback address, only requests that name it: a web page whose host name was re-pointed at
  // 127.0.0.1 (DNS rebinding) must not read the images through the user's browser.
  let allowedHosts: Set<string> | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (allowedHosts && !allowedHosts.has(req.headers.host ?? ''))
      throw new HttpError(403, 'FORBIDDEN', `host ${req.headers.host ?? '(none)'} is not this server's`);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'POST' && url.pathname === '/api/export') {
      const format = url.searchParams.get('format') ?? 'csv';
      if (format !== 'csv' && format !== 'json')
        throw new HttpError(400, 'BAD_OPTION', `format must be csv or json, got ${format}`);
      const ids = await readIds(req, data.n);
      const rows = Array.from(ids, (id) => {
        const r = rowOf(id);
        return { id, path: r.path, label: r.label, prediction: r.predictionName };
      });
      const body =
        format === 'json'
          ? JSON.stringify(rows)
          : [
              'id,path,label,prediction',
              ...rows.map((r) => [r.id, r.path, r.label ?? '', r.prediction].map(csvCell).join(',')),
            ].join('\n') + '\n';
      res.setHeader(
        'content-disposition',
        `attachment; filename="${data.table}-${data.name}-selection.${format}"`,
      );
      return send(res, 200, format === 'json' ? TYPES['.json'] : 'text/csv; charset=utf-8', body);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, 'BAD_METHOD', `${req.method} ${url.pathname} is not served`);
    if (parts[0] !== 'api') {
      const file = files.get(url.pathname);
      if (!file) throw new HttpError(404, 'NOT_FOUND', `no page ${url.pathname}`);
      return send(res, 200, TYPES[extname(file)], await readFile(file));
    }
    const [, what, arg] = parts;
    if (what === 'map' && parts.length === 2) return send(res, 200, TYPES['.json'], info);
    if (what === 'points' && parts.length === 2)
      return send(res, 200, 'application/octet-stream', points.buffer);
    if (what === 'rows' && parts.length === 3) return sendJson(res, rowOf(idFrom(arg)));
    if (what === 'thumbs' && parts.length === 3 && arg.endsWith('.png')) {
      const id = idFrom(arg.slice(0, -4));
      try {
        return send(res, 200, TYPES['.png'], await thumbnail(id), 'max-age=3600');
      } catch (e) {
        const code = e instanceof CnnvizError ? e.code : 'IO';
        throw new HttpError(422, code, `thumbnail of row ${id}: ${(e as Error).message}`);
      }
    }
    if (what === 'neighbours' && parts.length === 3) {
      const id = idFrom(arg);
      const k = Number(url.searchParams.get('k') ?? 8);
      if (!Number.isInteger(k) || k < 1 || k > maxK)
        throw new HttpError(400, 'BAD_OPTION', `k must be an integer in 1..${maxK}`);
      await indexReady;
      const r = await storeKnn(
        { paths: [data.paths[id]] },
        {
          table: options.table,
          k: Math.min(k, data.n - 1),
          ...(options.store ? { store: options.store } : {}),
          ...(options.storageOptions ? { storageOptions: options.storageOptions } : {}),
        },
      );
      return sendJson(res, {
        id,
        search: r.search,
        neighbours: Array.from(r.indices[0], (j, i) => ({ ...rowOf(j), distance: r.distances[0][i] })),
      });
    }
    throw new HttpError(404, 'NOT_FOUND', `no endpoint ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const h =
        e instanceof HttpError
          ? e
          : new HttpError(500, e instanceof CnnvizError ? e.code : 'INTERNAL', (e as Error).message);
      if (!res.headersSent) sendJson(res, { error: { code: h.code, message: h.message } }, h.status);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new CnnvizError(
          'IO',
          `cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${e.message}`,
        ),
      ),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  if (/^(127\.|::1$|::ffff:127\.)/.test(addr.address))
    allowedHosts = new Set([`${host}:${addr.port}`, `localhost:${addr.port}`]);
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { url: `http://${host}:${addr.port}/`, n: data.n, loadSeconds, close };
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  cache = 'no-cache',
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': cache,
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** A selection: the body is the ids as little-endian Uint32, at most one per row. */
async function readIds(req: IncomingMessage, n: number): Promise<Uint32Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 4 * n) throw new HttpError(413, 'BAD_INPUT', `a selection holds at most ${n} ids`);
    chunks.push(c);
  }
  const body = Buffer.concat(chunks);
  if (body.length % 4 !== 0) throw new HttpError(400, 'BAD_INPUT', 'expected Uint32 ids');
  const ids = new Uint32Array(body.length / 4);
  for (let i = 0; i < ids.length; i++) {
    ids[i] = body.readUInt32LE(4 * i);
    if (ids[i] >= n) throw new HttpError(400, 'BAD_INPUT', `no row ${ids[i]}: ids are 0..${n - 1}`);
  }
  return ids;
}

/** RFC 4180: quoted when it holds a comma, quote or line break; a leading = + - @ is defused for spreadsheets. */
function csvCell(v: string | number): string {
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const sendJson = (res: ServerResponse, body: unknown, status = 200) =>
  send(res, status, TYPES['.json'], JSON.stringify(body));

/** A stored image shrunk to at most `size` px a side (box filter while decoding, then bilinear) as PNG. */
async function makeThumbnail(path: string, size: number, maxPixels?: number): Promise<Buffer> {
  const img = await readImage(path, { shrinkTo: [size, size], ...(maxPixels ? { maxPixels } : {}) });
  try {
    const [h, w] = img.shape;
    if (h <= size && w <= size) return await encodePng(img);
    const f = size / Math.max(h, w);
    const small = tf.tidy(() =>
      tf.clipByValue(
        tf.image.resizeBilinear(img, [Math.max(1, Math.round(h * f)), Math.max(1, Math.round(w * f))], true),
        0,
        1,
      ),
    );
    try {
      return await encodePng(small);
    } finally {
      small.dispose();
    }
  } finally {
    img.dispose();
  }
}
