import type { Technique } from '../gallery.js';
import { activationAtlasSection } from './activation-atlas.js';
import { adversarialSection } from './adversarial.js';
import { classVisualizationSection } from './class-visualization.js';
import { deepDreamSection } from './deep-dream.js';
import { fastStyleTransferSection } from './fast-style-transfer.js';
import { featureInversionSection } from './feature-inversion.js';
import { filtersSection } from './filters.js';
import { gradCamSection } from './grad-cam.js';
import { guidedBackpropSection } from './guided-backprop.js';
import { integratedGradientsSection } from './integrated-gradients.js';
import { nearestNeighboursSection } from './nearest-neighbours.js';
import { occlusionSection } from './occlusion.js';
import { pcaTsneSection } from './pca-tsne.js';
import { saliencySection } from './saliency.js';
import { smoothGradSection } from './smooth-grad.js';
import { styleTransferSection } from './style-transfer.js';
import { textureSynthesisSection } from './texture-synthesis.js';
import { topPatchesSection } from './top-patches.js';

/** Every section in the lecture's order; additions follow the technique they extend. */
export const TECHNIQUES: Technique[] = [
  filtersSection,
  nearestNeighboursSection,
  pcaTsneSection,
  activationAtlasSection,
  topPatchesSection,
  occlusionSection,
  saliencySection,
  smoothGradSection,
  integratedGradientsSection,
  gradCamSection,
  guidedBackpropSection,
  classVisualizationSection,
  adversarialSection,
  deepDreamSection,
  featureInversionSection,
  textureSynthesisSection,
  styleTransferSection,
  fastStyleTransferSection,
];
