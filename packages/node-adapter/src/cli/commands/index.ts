import type { Command } from '../command.js';
import { adversarial } from './adversarial.js';
import { atlas } from './atlas.js';
import { audit } from './audit.js';
import { classViz } from './class.js';
import { dream } from './dream.js';
import { embed } from './embed.js';
import { extract } from './extract.js';
import { filters } from './filters.js';
import { gallery } from './gallery.js';
import { gradcam } from './gradcam.js';
import { guided } from './guided.js';
import { info } from './info.js';
import { invert } from './invert.js';
import { layers } from './layers.js';
import { map } from './map.js';
import { occlusion } from './occlusion.js';
import { patches } from './patches.js';
import { queue } from './queue.js';
import { saliency } from './saliency.js';
import { style } from './style.js';
import { texture } from './texture.js';
import { worker } from './worker.js';

/** Every subcommand, in the order `cnnviz --help` lists them (the lecture's order where it applies). */
export const COMMANDS: Command[] = [
  info,
  layers,
  filters,
  embed,
  atlas,
  patches,
  occlusion,
  saliency,
  gradcam,
  guided,
  classViz,
  adversarial,
  dream,
  invert,
  texture,
  style,
  gallery,
  // Data sets (@cnnviz/datasets, loaded only by these).
  extract,
  audit,
  queue,
  worker,
  map,
];
