import type { Command } from '../command.js';
import { modelOption, sizeOption } from '../command.js';
import { extractOptions, storeOptions } from '../datasets.js';

const dataPositional = {
  name: 'data',
  description:
    'a folder of images (sub-folder names are labels), a quoted glob, or a manifest (.csv path,label / .jsonl)',
  required: true,
  variadic: true,
};

/** `cnnviz extract`: a data set's features and predictions streamed into a LanceDB table. */
export const extract: Command = {
  spec: {
    name: 'extract',
    summary: 'features and predictions of a whole image set, streamed into LanceDB (resumable)',
    description:
      'Decodes, batches and runs every image through the model in a bounded pipeline (memory does not grow with the data set) and appends per image its features at --layer, its predicted class and probability, and path, label, model, layer and time to a LanceDB table, one commit per batch. A rerun skips the images already stored, so an interrupted or killed run resumes where it stopped. Needs @cnnviz/datasets.',
    positionals: dataPositional,
    options: {
      model: modelOption('fashion-cnn'),
      ...storeOptions,
      ...extractOptions,
      attribution: {
        type: 'string',
        choices: ['gradcam', 'saliency'],
        placeholder: '<method>',
        description: 'also store one attribution map per image (see `cnnviz audit`)',
      },
      size: sizeOption,
    },
    examples: [
      'cnnviz extract photos/ -m mobilenet-v2 --layer out_relu --table photos-out_relu',
      'cnnviz extract val.csv -m fashion-cnn --layer dense1 --store s3://bucket/cnnviz --table val-dense1',
    ],
  },
  async run(args, ctx) {
    const { runExtract } = await import('./extract-run.js');
    return runExtract(args, ctx, 'extract', args.values.attribution as 'gradcam' | 'saliency' | undefined);
  },
};

export { dataPositional };
