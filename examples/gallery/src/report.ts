import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GROUPS, formatMs, type TechniqueOutcome } from './gallery.js';

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Figures shown at the top of the page, in this order: technique id and figure index. */
const HIGHLIGHTS: [string, number][] = [
  ['deep-dream', 0],
  ['grad-cam', 0],
  ['style-transfer', 0],
  ['class-visualization', 1],
  ['pca-tsne', 1],
  ['feature-inversion', 0],
  ['fast-style-transfer', 0],
];

export interface ReportMeta {
  backend: string;
  quality: string;
  totalMs: number;
  date: string;
  node: string;
  cpus: number;
}

const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#fafafa;color:#1d1d1f}
header{padding:24px 32px 8px}
h1{margin:0 0 4px;font-size:26px}
.meta{color:#555;font-size:13px}
h2{margin:28px 32px 6px;font-size:21px;border-bottom:2px solid #ddd;padding-bottom:4px}
section{margin:0 32px 18px}
h3{margin:18px 0 2px;font-size:17px}
h3 .n{color:#888;font-weight:normal;margin-right:6px}
h3 .t{color:#888;font-weight:normal;font-size:13px;margin-left:8px}
.blurb{margin:0 0 8px;color:#444}
.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:8px;max-width:560px}
figure img{display:block;max-width:540px;max-height:420px;image-rendering:pixelated}
figcaption{font-size:12.5px;color:#333;margin-top:6px;max-width:540px}
figcaption b{display:block;font-size:13.5px;color:#111}
figcaption pre{margin:6px 0 0;padding:5px 7px;background:#f3f3f5;border-radius:4px;font:11.5px/1.35 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all;color:#222}
.highlights{display:flex;gap:10px;flex-wrap:wrap;margin:10px 0 0}
.highlights a{display:block;text-decoration:none;color:#333;font-size:12px;text-align:center}
.highlights img{display:block;height:150px;width:auto;border-radius:4px;border:1px solid #ddd;image-rendering:auto}
.missing{background:#fff4f2;border:1px solid #f3c1b8;border-radius:6px;padding:8px 12px;color:#8a2a14;font-size:13px}
`;

/** Writes `index.html` into `outDir` with every PNG embedded as a data URI (one self-contained file). */
export function writeReport(outDir: string, outcomes: TechniqueOutcome[], meta: ReportMeta): string {
  const parts: string[] = [];
  parts.push(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`,
    `<title>cnnviz gallery</title><style>${CSS}</style></head><body>`,
    `<header><h1>cnnviz gallery</h1><div class="meta">Every technique of CS231n's “Visualizing and Understanding”, plus SmoothGrad, integrated gradients and Grad-CAM, run by cnnviz on TensorFlow.js in Node.`,
    ` Backend ${esc(meta.backend)} · ${meta.cpus} CPU cores · ${esc(meta.node)} · quality ${esc(meta.quality)} · total ${formatMs(meta.totalMs)} · ${esc(meta.date)}</div>`,
  );
  const picks = HIGHLIGHTS.flatMap(([id, index]) => {
    const o = outcomes.find((x) => x.technique.id === id);
    const f = o?.figures[index] ?? o?.figures[0];
    return o && f ? [{ o, f }] : [];
  });
  if (picks.length > 0) {
    parts.push('<div class="highlights">');
    for (const { o, f } of picks) {
      parts.push(
        `<a href="#${esc(o.technique.id)}"><img src="data:image/png;base64,${readFileSync(join(outDir, f.file)).toString('base64')}" alt="${esc(f.title)}">${esc(o.technique.title)}</a>`,
      );
    }
    parts.push('</div>');
  }
  parts.push('</header>');
  for (const group of GROUPS) {
    const items = outcomes.filter((o) => o.technique.group === group.id);
    if (items.length === 0) continue;
    parts.push(`<h2>${esc(group.title)}</h2>`);
    for (const o of items) {
      const t = o.technique;
      parts.push(
        `<section id="${esc(t.id)}"><h3>${t.lecture !== undefined ? `<span class="n">${t.lecture}.</span>` : '<span class="n">+</span>'}${esc(t.title)}<span class="t">${formatMs(o.ms)}</span></h3>`,
        `<p class="blurb">${esc(t.blurb)}</p>`,
      );
      if (o.error) parts.push(`<div class="missing">Not shown: ${esc(o.error)}</div>`);
      parts.push('<div class="figs">');
      for (const f of o.figures) {
        const data = readFileSync(join(outDir, f.file)).toString('base64');
        const bits = [
          `model ${f.model}`,
          f.layer ? `layer ${f.layer}` : '',
          f.settings,
          formatMs(f.ms),
        ].filter(Boolean);
        parts.push(
          `<figure><img src="data:image/png;base64,${data}" alt="${esc(f.title)}" title="${esc(f.file)}">`,
          `<figcaption><b>${esc(f.title)}</b>${esc(bits.join(' · '))}${f.note ? `<br>${esc(f.note)}` : ''}${f.command ? `<pre title="how to make it again">${esc(f.command)}</pre>` : ''}</figcaption></figure>`,
        );
      }
      parts.push('</div></section>');
    }
  }
  parts.push('</body></html>\n');
  const path = join(outDir, 'index.html');
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, parts.join('\n'));
  renameSync(tmp, path);
  return path;
}
