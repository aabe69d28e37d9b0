import type { CommandSpec, OptionSpec, OptionValue, ParsedArgs } from './args.js';
import { progressBar, type ProgressBar } from './progress.js';

/** What a subcommand gets besides its parsed arguments. */
export interface Ctx {
  command: string;
  signal: AbortSignal;
  quiet: boolean;
  json: boolean;
  /** A note on stderr (not with --quiet). */
  note(message: string): void;
  /** A progress bar on stderr, only when stderr is a TTY and not --quiet. */
  bar(label: string): ProgressBar;
  /** Files written so far, in order. */
  written: string[];
  /** `--max-pixels`: input images over it are refused (IMAGE_TOO_LARGE); undefined is the default limit. */
  maxPixels?: number;
}

export function createCtx(command: string, values: Record<string, OptionValue>, signal: AbortSignal): Ctx {
  const quiet = values.quiet === true;
  return {
    command,
    signal,
    quiet,
    json: values.json === true,
    note: (m) => {
      if (!quiet) process.stderr.write(`${m}\n`);
    },
    bar: (label) => progressBar(label, { enabled: !quiet }),
    written: [],
    ...(typeof values['max-pixels'] === 'number' ? { maxPixels: values['max-pixels'] } : {}),
  };
}

/** A subcommand's outcome: lines for people (stdout) and one object for `--json`. */
export interface CommandResult {
  lines: string[];
  json: Record<string, unknown>;
}

/**
 * One `cnnviz` subcommand. Its module imports only light code at the top: TF.js and the technique
 * packages are imported inside `run`, so `--help` and argument errors answer at once.
 */
export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs, ctx: Ctx): Promise<CommandResult>;
}

// Options several subcommands share, so they read the same everywhere.

export const modelOption = (def: string): OptionSpec => ({
  type: 'string',
  short: 'm',
  placeholder: '<name|path>',
  default: def,
  description: 'zoo model (fashion-cnn, mobilenet-v2, inception-v3) or a path to a TF.js model.json',
});

export const outputOption = (what: string): OptionSpec => ({
  type: 'string',
  short: 'o',
  placeholder: '<path>',
  description: `where to write ${what}: a .png file, or a directory (ending in /) for several images`,
});

export const targetOption: OptionSpec = {
  type: 'string',
  short: 't',
  placeholder: '<class>',
  description: 'class to explain: index or label (default: the predicted class)',
};

export const objectiveOption: OptionSpec = {
  type: 'string',
  placeholder: '<layer:unit>',
  description: 'explain an objective instead of a class, e.g. block_13_expand_relu:42, layer:mixed3, class:7',
};

export const sizeOption: OptionSpec = {
  type: 'integer',
  min: 32,
  max: 2048,
  placeholder: '<px>',
  description: 'image size for models that take any size (mobilenet-v2 224, inception-v3 299)',
};

export const scaleOption: OptionSpec = {
  type: 'integer',
  min: 1,
  max: 64,
  placeholder: '<n>',
  description: 'enlarge the output n times (nearest neighbour); default: enough for 224 px',
};

export const seedOption: OptionSpec = {
  type: 'integer',
  placeholder: '<n>',
  default: 0,
  description: 'random seed',
};

export const imagesPositional = {
  name: 'image',
  description:
    'image files (PNG/JPEG), quoted globs such as "photos/*.jpg", or bundled images by name (e.g. chelsea)',
  required: true,
  variadic: true,
};

/** Image files, or none with --dataset: the commands that map many images (embed, atlas). */
export const datasetImagesPositional = {
  name: 'image',
  description: 'image files or quoted globs (or none with --dataset)',
  variadic: true,
};

export const datasetOption: OptionSpec = {
  type: 'string',
  choices: ['fashion-mnist-1k'],
  placeholder: '<name>',
  description: 'use a bundled data set instead of image files',
};

export const viewOptions: Record<string, OptionSpec> = {
  view: {
    type: 'string',
    choices: ['heatmap', 'overlay', 'side'],
    placeholder: '<kind>',
    description: 'heatmap alone, heatmap over the image, or image | heatmap | overlay side by side',
  },
  colormap: {
    type: 'string',
    choices: ['inferno', 'viridis', 'jet', 'gray', 'rdbu'],
    placeholder: '<name>',
    description: 'heatmap colours (default inferno for heatmaps, jet for overlays, rdbu for signed maps)',
  },
  scale: scaleOption,
};

export const stepsOption = (def?: number): OptionSpec => ({
  type: 'integer',
  min: 1,
  placeholder: '<n>',
  ...(def !== undefined ? { default: def } : {}),
  description: 'optimisation steps',
});

export const lrOption: OptionSpec = {
  type: 'number',
  min: 0,
  placeholder: '<x>',
  description: 'step size / learning rate (technique default)',
};
