import type { OptionSpec, ParsedArgs } from '../args.js';
import type { CommandResult, Ctx } from '../command.js';

/** `cnnviz embed --table T --neighbours k`: neighbours searched in a LanceDB feature table. */
export const embedStoreOptions: Record<string, OptionSpec> = {
  table: {
    type: 'string',
    placeholder: '<name>',
    description: 'search a feature table of `cnnviz extract` instead of images (needs @cnnviz/datasets)',
  },
  store: {
    type: 'string',
    placeholder: '<dir|uri>',
    description: 'LanceDB database of --table (default ./cnnviz-store)',
  },
  neighbours: {
    type: 'integer',
    min: 1,
    placeholder: '<k>',
    description: 'with --table: the k nearest stored images of each image in --of (default: of every image)',
  },
  of: {
    type: 'list',
    placeholder: '<paths>',
    description: 'with --table: stored image paths whose neighbours to find (comma-separated)',
  },
  search: {
    type: 'string',
    choices: ['auto', 'exact', 'index'],
    default: 'auto',
    placeholder: '<s>',
    description:
      "with --table: exact search, LanceDB's vector index (IVF-PQ), or auto (exact below 50,000 rows)",
  },
};

export async function embedStore(args: ParsedArgs, ctx: Ctx): Promise<CommandResult> {
  const v = args.values;
  const { CliError } = await import('../errors.js');
  const { loadDatasets, tableName } = await import('../datasets.js');
  const table = tableName(v.table, 'embed');
  if (typeof v.neighbours !== 'number' && typeof v.knn !== 'number')
    throw new CliError('BAD_OPTION', 'with --table give --neighbours <k>');
  if (args.positionals.length)
    throw new CliError('BAD_OPTION', 'with --table give no images: the table holds them (use --of <paths>)');
  const ds = await loadDatasets('embed');
  const { resolve } = await import('node:path');
  const of = Array.isArray(v.of) && v.of.length ? v.of.map((p) => resolve(p)) : undefined;
  const bar = ctx.bar('neighbours');
  const r = await ds
    .storeKnn(of ? { paths: of } : 'all', {
      ...(typeof v.store === 'string' ? { store: v.store } : {}),
      table,
      k: (v.neighbours ?? v.knn) as number,
      metric: v.metric as 'euclidean' | 'cosine',
      search: v.search as 'auto' | 'exact' | 'index',
      signal: ctx.signal,
      onProgress: (p) => bar.update(p.done, p.total),
    })
    .finally(() => bar.done());
  let names = of;
  if (!names) {
    // 'all' answers in id order: the table's paths by id.
    const t = await ds.openTable({ ...(typeof v.store === 'string' ? { store: v.store } : {}), table });
    const rows = (await t!.query().select(['id', 'path']).toArray()) as {
      id: number | bigint;
      path: string;
    }[];
    names = new Array<string>(rows.length);
    for (const row of rows) names[Number(row.id)] = row.path;
  }
  const lines = names
    .slice(0, 5)
    .map((n, i) => `${n}: ${r.paths[i].join(', ')}`)
    .concat(names.length > 5 ? [`... (--json lists the neighbours of all ${names.length} images)`] : []);
  return {
    lines,
    json: {
      command: 'embed',
      table,
      search: r.search,
      neighbours: names.map((image, i) => ({
        image,
        neighbours: r.paths[i].map((p, j) => ({
          image: p,
          id: r.indices[i][j],
          distance: r.distances[i][j],
        })),
      })),
    },
  };
}
