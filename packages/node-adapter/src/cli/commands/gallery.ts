import type { Command, CommandResult } from '../command.js';
import { imagesPositional, modelOption } from '../command.js';

/** What the gallery runs: a subcommand and its extra arguments, per technique name. */
const TECHNIQUES: Record<string, { title: string; command: string; args: string[] }> = {
  saliency: { title: 'Saliency', command: 'saliency', args: ['--view', 'side'] },
  smoothgrad: {
    title: 'SmoothGrad',
    command: 'saliency',
    args: ['--method', 'smoothgrad', '--view', 'side'],
  },
  ig: { title: 'Integrated gradients', command: 'saliency', args: ['--method', 'ig', '--view', 'side'] },
  gradcam: { title: 'Grad-CAM', command: 'gradcam', args: ['--view', 'side'] },
  gradcampp: { title: 'Grad-CAM++', command: 'gradcam', args: ['--plus-plus', '--view', 'side'] },
  guided: { title: 'Guided backprop', command: 'guided', args: [] },
  guidedgradcam: { title: 'Guided Grad-CAM', command: 'guided', args: ['--cam'] },
  occlusion: { title: 'Occlusion', command: 'occlusion', args: ['--view', 'side'] },
  dream: { title: 'DeepDream', command: 'dream', args: ['--octaves', '2', '--steps', '6'] },
};
const DEFAULT = ['saliency', 'smoothgrad', 'ig', 'gradcam', 'gradcampp', 'guided', 'occlusion'];

/** `cnnviz gallery`: every attribution technique on your images, in one HTML page. */
export const gallery: Command = {
  spec: {
    name: 'gallery',
    summary: 'run several techniques on your images and write the PNGs and one index.html',
    description:
      'Runs the chosen techniques (default: the attribution ones) on each image with the same model and writes them into the output folder with an index.html that shows them side by side. The full lecture gallery with every technique on the bundled models is `npm run demo` in the cnnviz repository.',
    positionals: {
      ...imagesPositional,
      required: false,
      description: 'images (default: bundled ones suited to the model)',
    },
    options: {
      model: modelOption('fashion-cnn'),
      output: {
        type: 'string',
        short: 'o',
        placeholder: '<dir>',
        default: 'cnnviz-gallery',
        description: 'output folder',
      },
      techniques: {
        type: 'list',
        placeholder: '<a,b,...>',
        default: DEFAULT.join(','),
        description: `techniques to run, from ${Object.keys(TECHNIQUES).join(', ')}`,
      },
      target: {
        type: 'string',
        short: 't',
        placeholder: '<class>',
        description: 'class to explain (default: the predicted class)',
      },
      size: {
        type: 'integer',
        min: 32,
        max: 2048,
        placeholder: '<px>',
        description: 'image size for models that take any size',
      },
    },
    examples: [
      'cnnviz gallery -m fashion-cnn -o gallery/',
      'cnnviz gallery chelsea photo.jpg -m mobilenet-v2 --techniques gradcam,guided,dream -o cat-gallery/',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { CliError } = await import('../errors.js');
    const chosen = v.techniques as string[];
    const unknown = chosen.filter((t) => !(t in TECHNIQUES));
    if (unknown.length)
      throw new CliError(
        'BAD_OPTION',
        `unknown technique ${unknown.join(', ')}; choose from ${Object.keys(TECHNIQUES).join(', ')}`,
      );
    const { join, relative } = await import('node:path');
    const { checkWritableDir, writeFileAtomic } = await import('../output.js');
    const { parseModelRef } = await import('../model-arg.js');
    const { parse } = await import('../args.js');
    const { COMMANDS } = await import('./index.js');
    const dir = String(v.output);
    checkWritableDir(dir);
    const ref = parseModelRef(String(v.model));
    const images = args.positionals.length
      ? args.positionals
      : ref.zoo === 'fashion-cnn'
        ? ['fashion-tshirt', 'fashion-trouser', 'fashion-sneaker', 'fashion-bag']
        : ['chelsea', 'astronaut', 'coffee'];
    const sections: {
      title: string;
      rows: { input: string; output: string; caption: string }[];
      ms: number;
    }[] = [];
    const shared = [
      ...(typeof v.size === 'number' ? ['--size', String(v.size)] : []),
      ...(typeof v.backend === 'string' ? ['--backend', v.backend] : []),
    ];
    for (const name of chosen) {
      const t = TECHNIQUES[name];
      const command = COMMANDS.find((c) => c.spec.name === t.command)!;
      const target = typeof v.target === 'string' && t.command !== 'dream' ? ['--target', v.target] : [];
      const argv = [
        ...images,
        '-m',
        String(v.model),
        '-o',
        join(dir, name) + '/',
        ...t.args,
        ...shared,
        ...target,
      ];
      ctx.note(`${t.title}...`);
      const start = performance.now();
      const result: CommandResult = await command.run(parse(command.spec, argv), {
        ...ctx,
        note: () => undefined,
      });
      const results =
        (result.json.results as { input: string; output: string; target?: string; ms: number }[]) ?? [];
      sections.push({
        title: t.title,
        ms: Math.round(performance.now() - start),
        rows: results.map((r) => ({
          input: r.input,
          output: relative(dir, r.output),
          caption: `${r.input}${r.target ? ` — ${r.target}` : ''} — ${r.ms} ms`,
        })),
      });
    }
    const esc = (s: string) =>
      s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
    const html = [
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cnnviz gallery</title>',
      '<style>body{font:15px system-ui,sans-serif;margin:24px;background:#fafafa}h2{border-bottom:2px solid #ddd}figure{display:inline-block;margin:6px;background:#fff;border:1px solid #e3e3e3;padding:6px;border-radius:6px}img{max-width:520px;image-rendering:pixelated;display:block}figcaption{font-size:12px;color:#444;margin-top:4px}</style></head><body>',
      `<h1>cnnviz gallery</h1><p>model ${esc(ref.name)} · ${images.length} image(s) · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC</p>`,
      ...sections.map(
        (s) =>
          `<h2>${esc(s.title)} <small>(${(s.ms / 1000).toFixed(1)} s)</small></h2>` +
          s.rows
            .map(
              (r) =>
                `<figure><img src="${esc(r.output)}" alt="${esc(r.input)}"><figcaption>${esc(r.caption)}</figcaption></figure>`,
            )
            .join(''),
      ),
      '</body></html>',
    ].join('\n');
    const index = join(dir, 'index.html');
    await writeFileAtomic(index, html);
    ctx.written.push(index);
    return {
      lines: [`${index}  (${sections.length} techniques × ${images.length} images)`],
      json: {
        command: 'gallery',
        model: ref.name,
        output: index,
        techniques: sections.map((s) => ({ title: s.title, ms: s.ms, images: s.rows })),
      },
    };
  },
};
