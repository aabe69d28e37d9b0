export * from './resize.js';
export * from './crop-pad.js';
export * from './blur.js';
export * from './jitter.js';
export * from './normalize.js';
export * from './colormap.js';
export * from './overlay.js';
export * from './grid.js';
