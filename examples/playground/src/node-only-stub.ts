import { CnnvizError } from '@cnnviz/core';

const nodeOnly = (): never => {
  throw new CnnvizError(
    'UNSUPPORTED_OP',
    'this decoder runs in Node only; browsers decode with createImageBitmap',
  );
};

/**
 * Stands in for pngjs, which @cnnviz/models imports only in Node (browsers decode images with
 * createImageBitmap): keeps Node's zlib/stream shims out of the bundle.
 */
export const PNG = { sync: { read: nodeOnly } };
