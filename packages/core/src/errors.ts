/** Stable error codes; each names a class of bad input or failure a caller can handle. */
export type CnnvizErrorCode =
  | 'BAD_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'BAD_INPUT'
  | 'UNKNOWN_LAYER'
  | 'BAD_LAYER'
  | 'BAD_TARGET'
  | 'BAD_OPTION'
  | 'MODEL_LOAD'
  /** A model's weights live in an npm package that is not installed; the message names the `npm i` command. */
  | 'MODEL_NOT_INSTALLED'
  | 'UNSUPPORTED_OP'
  | 'UNSUPPORTED_LAYER'
  | 'BACKEND'
  | 'IO'
  | 'ABORTED';

const MARK = Symbol.for('cnnviz.error');

/** The one error class of cnnviz: a `code` to branch on and a message saying what was expected. */
export class CnnvizError extends Error {
  readonly code: CnnvizErrorCode;
  readonly [MARK] = true;

  constructor(code: CnnvizErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CnnvizError';
    this.code = code;
  }

  /** True for a CnnvizError from any copy of this package (instanceof fails across copies). */
  static isInstance(e: unknown): e is CnnvizError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[MARK] === true;
  }
}
