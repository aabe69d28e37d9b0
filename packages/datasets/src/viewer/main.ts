// The map viewer served by `cnnviz map serve`: every point of a map drawn with regl-scatterplot (WebGL),
// coloured by label or prediction; hover or click shows an image, a click its neighbours; a lasso
// selection downloads as CSV or JSON. Everything comes from the server by row id.
import createScatterplot from 'regl-scatterplot';

interface MapInfo {
  table: string;
  name: string;
  store: string;
  n: number;
  map: { method: string };
  model: string;
  layer: string;
  labels: string[];
  classes: string[];
  noCategory: number;
}

interface Row {
  id: number;
  path: string;
  label: string | null;
  prediction: number;
  predictionName: string;
  probability: number;
}

type ColorBy = 'label' | 'prediction';

declare global {
  interface Window {
    /** For tests and scripts: the drawn map. */
    cnnvizMap?: {
      n: number;
      loadMs: number;
      info: MapInfo;
      /** Page (CSS pixel) position of a point in the current view. */
      screenPosition(id: number): [number, number];
      select(ids: number[]): void;
      colorBy(by: ColorBy): void;
    };
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// Tableau 10, then evenly spaced hues for more categories.
const TABLEAU = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
const palette = (k: number): string[] =>
  k <= TABLEAU.length
    ? TABLEAU.slice(0, Math.max(k, 1))
    : Array.from({ length: k }, (_, i) => `hsl(${Math.round((i * 137.508) % 360)} 65% 58%)`);
const NONE_COLOR = '#666666';

// regl-scatterplot takes colours as hex or RGBA arrays.
function toRgba(css: string): [number, number, number, number] {
  const c = document.createElement('canvas').getContext('2d')!;
  c.fillStyle = css;
  c.fillRect(0, 0, 1, 1);
  const d = c.getImageData(0, 0, 1, 1).data;
  return [d[0] / 255, d[1] / 255, d[2] / 255, 1];
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  const body = (await r.json()) as T & { error?: { message: string } };
  if (!r.ok) throw new Error(body.error?.message ?? `${url}: HTTP ${r.status}`);
  return body;
}

function setState(state: string, text: string): void {
  document.body.dataset.state = state;
  $('status').textContent = text;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const [info, buf] = await Promise.all([
    getJson<MapInfo>('api/map'),
    fetch('api/points').then((r) => {
      if (!r.ok) throw new Error(`api/points: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
  ]);
  const n = info.n;
  const x = new Float32Array(buf, 0, n);
  const y = new Float32Array(buf, 4 * n, n);
  const labelIx = new Uint16Array(buf, 8 * n, n);
  const predIx = new Uint16Array(buf, 10 * n, n);
  // Unlabelled rows take the colour after the last label.
  const z = new Float32Array(n);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    z[i] = labelIx[i] === info.noCategory ? info.labels.length : labelIx[i];
    w[i] = predIx[i];
  }
  const hasUnlabelled = z.some((v) => v === info.labels.length);
  const colors: Record<ColorBy, { names: string[]; css: string[] }> = {
    label: {
      names: [...info.labels, ...(hasUnlabelled ? ['(no label)'] : [])],
      css: [...palette(info.labels.length), NONE_COLOR],
    },
    prediction: { names: info.classes, css: palette(info.classes.length) },
  };

  $('title').textContent = `${info.table} · ${info.name}`;
  document.title = `cnnviz map: ${info.table} ${info.name}`;

  const canvas = $<HTMLCanvasElement>('canvas');
  const scatterplot = createScatterplot({
    canvas,
    width: 'auto',
    height: 'auto',
    backgroundColor: '#111111',
    pointSize: n > 200_000 ? 2 : n > 20_000 ? 3 : 5,
    pointSizeSelected: 6,
    pointOutlineWidth: 3,
    performanceMode: n > 500_000,
    lassoColor: '#ffffff',
    lassoOnLongPress: false,
    opacityInactiveMax: 0.5,
    colorBy: 'valueA',
    pointColor: colors.label.css.map(toRgba),
  });

  const setColorBy = (by: ColorBy) => {
    scatterplot.set({
      colorBy: by === 'label' ? 'valueA' : 'valueB',
      pointColor: colors[by].css.map(toRgba),
    });
    const legend = $('legend');
    legend.replaceChildren(
      ...colors[by].names.slice(0, 60).map((name, i) => {
        const li = document.createElement('li');
        const dot = document.createElement('i');
        dot.style.background = colors[by].css[i] ?? NONE_COLOR;
        li.append(dot, name);
        li.title = name;
        return li;
      }),
    );
    $<HTMLSelectElement>('color-by').value = by;
  };

  await scatterplot.draw(
    { x, y, valueA: z, valueB: w },
    { zDataType: 'categorical', wDataType: 'categorical' },
  );
  setColorBy('label');
  const loadMs = performance.now() - t0;
  setState(
    'ready',
    `${n.toLocaleString('en')} points (${info.map.method}, ${info.model} ${info.layer}) · loaded in ${(loadMs / 1000).toFixed(1)} s`,
  );
  document.body.dataset.count = String(n);
  document.body.dataset.loadMs = String(Math.round(loadMs));

  // Details: the last request wins; neighbours only for a clicked point (each is a search in the store).
  let shown = -1;
  const thumbUrl = (id: number) => `api/thumbs/${id}.png`;
  const showDetail = async (id: number, withNeighbours: boolean) => {
    shown = id;
    $('detail').hidden = false;
    const img = $<HTMLImageElement>('thumb');
    img.src = thumbUrl(id);
    img.dataset.id = String(id);
    const nb = $('neighbours');
    if (withNeighbours) {
      $('neighbours-title').textContent = 'searching the nearest neighbours…';
      nb.replaceChildren();
    }
    const row = await getJson<Row>(`api/rows/${id}`);
    if (shown !== id) return;
    $('d-id').textContent = String(row.id);
    $('d-path').textContent = row.path;
    $('d-label').textContent = row.label ?? '—';
    $('d-prediction').textContent = `${row.predictionName} (${(100 * row.probability).toFixed(1)}%)`;
    if (!withNeighbours) return;
    const r = await getJson<{ search: string; neighbours: (Row & { distance: number })[] }>(
      `api/neighbours/${id}?k=8`,
    );
    if (shown !== id) return;
    $('neighbours-title').textContent = `nearest neighbours in feature space (${r.search} search):`;
    nb.replaceChildren(
      ...r.neighbours.map((m) => {
        const fig = document.createElement('figure');
        const im = document.createElement('img');
        im.src = thumbUrl(m.id);
        im.alt = m.path;
        im.title = `${m.path}\nlabel ${m.label ?? '—'}, predicted ${m.predictionName}\ndistance ${m.distance.toFixed(3)}`;
        const cap = document.createElement('figcaption');
        cap.textContent = m.label ?? m.predictionName;
        fig.append(im, cap);
        fig.addEventListener('click', () => scatterplot.select([m.id]));
        return fig;
      }),
    );
  };
  const report = (e: unknown) => setState('error', (e as Error).message);

  // A clicked point stays in the panel (with its neighbours) until it is deselected; until then hovering
  // other points does not replace it.
  let selected: number[] = [];
  let pinned = false;
  scatterplot.subscribe('pointOver', (id: number) => {
    if (!pinned) void showDetail(id, false).catch(report);
  });
  // A lasso selects for the export; only a click asks for neighbours (a search in the store).
  let fromLasso = false;
  scatterplot.subscribe('lassoStart', () => (fromLasso = true));
  scatterplot.subscribe('select', ({ points }: { points: number[] }) => {
    selected = points;
    pinned = points.length === 1 && !fromLasso;
    fromLasso = false;
    $('selection').hidden = points.length === 0;
    $('sel-count').textContent = points.length.toLocaleString('en');
    if (pinned) void showDetail(points[0], true).catch(report);
  });
  scatterplot.subscribe('deselect', () => {
    selected = [];
    pinned = false;
    $('selection').hidden = true;
  });

  const download = async (format: 'csv' | 'json') => {
    const r = await fetch(`api/export?format=${format}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Uint32Array.from(selected),
    });
    if (!r.ok) throw new Error(`export: HTTP ${r.status}`);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(await r.blob());
    a.download = `${info.table}-${info.name}-selection.${format}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };
  $('export-csv').addEventListener('click', () => void download('csv').catch(report));
  $('export-json').addEventListener('click', () => void download('json').catch(report));
  $<HTMLSelectElement>('color-by').addEventListener('change', (e) =>
    setColorBy((e.target as HTMLSelectElement).value as ColorBy),
  );
  $<HTMLInputElement>('lasso').addEventListener('change', (e) =>
    scatterplot.set({ mouseMode: (e.target as HTMLInputElement).checked ? 'lasso' : 'panZoom' }),
  );
  $('reset').addEventListener('click', () => void scatterplot.reset());

  window.cnnvizMap = {
    n,
    loadMs,
    info,
    screenPosition(id) {
      const [px, py] = scatterplot.getScreenPosition(id) ?? [NaN, NaN];
      const r = canvas.getBoundingClientRect();
      return [r.left + px, r.top + py];
    },
    select: (ids) => scatterplot.select(ids),
    colorBy: setColorBy,
  };
}

main().catch((e: unknown) => setState('error', `could not load the map: ${(e as Error).message}`));
