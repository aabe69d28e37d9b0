import type { OptionSpec, ParsedArgs } from '../args.js';
import type { Command, CommandResult, Ctx } from '../command.js';
import { CliError } from '../errors.js';
import { storeOptions } from '../datasets.js';

/** One action of `cnnviz map <action>`: its own options, merged into the command's. */
export interface MapAction {
  summary: string;
  options: Record<string, OptionSpec>;
  examples: string[];
  run(args: ParsedArgs, ctx: Ctx): Promise<CommandResult>;
}

const make: MapAction = {
  summary: 'compute a 2-D map (FIt-SNE or UMAP) of a feature table and store it beside the table',
  options: {
    method: {
      type: 'string',
      choices: ['fitsne', 'umap'],
      default: 'fitsne',
      placeholder: '<method>',
      description: 'fitsne (t-SNE with FFT-accelerated repulsion) or umap',
    },
    seed: {
      type: 'integer',
      min: 0,
      default: 0,
      placeholder: '<n>',
      description: 'random seed (same seed, same map)',
    },
    name: {
      type: 'string',
      placeholder: '<name>',
      description: 'make: name of the map (default: the method); serve: which map (default fitsne)',
    },
    perplexity: {
      type: 'number',
      min: 1,
      placeholder: '<p>',
      description: 'fitsne: perplexity (default 30)',
    },
    iterations: {
      type: 'integer',
      min: 1,
      placeholder: '<n>',
      description: 'fitsne: iterations (default 750)',
    },
    neighbors: { type: 'integer', min: 2, placeholder: '<k>', description: 'umap: neighbours (default 15)' },
    epochs: {
      type: 'integer',
      min: 1,
      placeholder: '<n>',
      description: 'umap: epochs (default 200 above 10,000 rows)',
    },
  },
  examples: [
    'cnnviz map make --table fashion --store ./fashion-store',
    'cnnviz map make --table photos-out_relu --method umap --seed 1',
  ],
  async run(args, ctx) {
    const v = args.values;
    const { loadDatasets, tableName } = await import('../datasets.js');
    const table = tableName(v.table, 'map make');
    const ds = await loadDatasets('map make');
    const bar = ctx.bar('map');
    const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);
    const s = await ds
      .storeMap({
        store: v.store as string,
        table,
        method: v.method as 'fitsne' | 'umap',
        seed: num(v.seed),
        ...(typeof v.name === 'string' ? { name: v.name } : {}),
        perplexity: num(v.perplexity),
        iterations: num(v.iterations),
        neighbors: num(v.neighbors),
        epochs: num(v.epochs),
        signal: ctx.signal,
        onProgress: (p) => bar.update(p.done, p.total, p.phase),
      })
      .finally(() => bar.done());
    const t = s.seconds;
    return {
      lines: [
        `map "${s.name}" (${s.method}) of ${s.rows} rows x ${s.dims} of ${s.store} table ${s.table} written to table ${s.table}__map_${s.name} in ${t.total.toFixed(1)} s (read ${t.read.toFixed(1)}, graph ${t.graph.toFixed(1)}, affinities ${t.affinities.toFixed(1)}, optimisation ${t.optimisation.toFixed(1)}, write ${t.write.toFixed(1)})`,
      ],
      json: { command: 'map make', ...s },
    };
  },
};

const serve: MapAction = {
  summary:
    'serve the map viewer of a stored map on http://127.0.0.1 until Ctrl-C: every point coloured by label or prediction, zoom and pan, the image, label and prediction of a point on hover, its nearest neighbours in feature space on click, and a lasso selection to download as CSV or JSON. The page asks for rows by id only; the server reads no file but the images stored in the table',
  options: {
    port: {
      type: 'integer',
      min: 0,
      max: 65535,
      default: 0,
      placeholder: '<n>',
      description: 'serve: port (0: any free one; the URL is printed)',
    },
    host: {
      type: 'string',
      default: '127.0.0.1',
      placeholder: '<addr>',
      description: 'serve: address to listen on; 0.0.0.0 shows the map and its images to the network',
    },
    open: { type: 'boolean', description: 'serve: open the page in the default browser' },
  },
  examples: [
    'cnnviz map serve --table fashion --name fitsne --open',
    'cnnviz map serve --table val-out_relu --store s3://bucket/cnnviz --name umap --port 8080',
  ],
  async run(args, ctx) {
    const values = { ...args.values, name: args.values.name ?? 'fitsne' };
    return (await import('./map-serve.js')).mapServe({ ...args, values }, ctx);
  },
};

/** The actions of `cnnviz map`; another action is one more entry here. */
export const MAP_ACTIONS: Record<string, MapAction> = { make, serve };

/** `cnnviz map <action>`: 2-D maps of a feature table in the store. */
export const map: Command = {
  spec: {
    name: 'map',
    summary: 'maps of a whole feature table: ' + Object.keys(MAP_ACTIONS).join(', '),
    description: Object.entries(MAP_ACTIONS)
      .map(([k, a]) => `map ${k}: ${a.summary}.`)
      .join(' ')
      .concat(' Needs @cnnviz/datasets.'),
    positionals: { name: 'action', description: Object.keys(MAP_ACTIONS).join(' | '), required: true },
    options: Object.assign({}, storeOptions, ...Object.values(MAP_ACTIONS).map((a) => a.options)),
    examples: Object.values(MAP_ACTIONS).flatMap((a) => a.examples),
  },
  async run(args, ctx) {
    const name = args.positionals[0];
    const action = MAP_ACTIONS[name];
    if (!action)
      throw new CliError(
        'BAD_OPTION',
        `unknown map action "${name}"; expected ${Object.keys(MAP_ACTIONS)
          .map((a) => `\`cnnviz map ${a}\``)
          .join(' or ')}`,
      );
    return action.run(args, ctx);
  },
};
