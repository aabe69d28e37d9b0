export * from './matrix.js';
export * from './knn.js';
export * from './knn-index.js';
export * from './pca.js';
export * from './tsne.js';
