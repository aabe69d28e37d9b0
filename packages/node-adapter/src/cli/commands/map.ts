import type { Command } from '../command.js';
import { storeOptions } from '../datasets.js';

/** `cnnviz map <action>`: 2-D maps of a feature table (@cnnviz/datasets). */
export const map: Command = {
  spec: {
    name: 'map',
    summary: 'maps of a feature table: serve one in the browser (map viewer)',
    description:
      'serve: reads a map of --table (made by `cnnviz map make`) and serves the map viewer on http://127.0.0.1 until Ctrl-C: every point coloured by label or prediction, zoom and pan, the image, label and prediction of a point on hover, its nearest neighbours in feature space on click, and a lasso selection to download as CSV or JSON. The page asks for rows by id only; the server reads no file but the images stored in the table. Needs @cnnviz/datasets.',
    positionals: { name: 'action', description: 'serve', required: true },
    options: {
      ...storeOptions,
      name: {
        type: 'string',
        placeholder: '<map>',
        default: 'fitsne',
        description: 'which map of the table (e.g. fitsne, umap)',
      },
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
  },
  async run(args, ctx) {
    const action = args.positionals[0];
    if (action === 'serve') return (await import('./map-serve.js')).mapServe(args, ctx);
    const { CliError } = await import('../errors.js');
    throw new CliError('BAD_OPTION', `unknown action "${action}": expected \`cnnviz map serve\``);
  },
};
