import type { CnnvizErrorCode } from '@cnnviz/core';

// Same marker as @cnnviz/core's CnnvizError: the CLI's own argument errors are CnnvizErrors to any
// reader, without importing core (and TF.js with it) before the arguments are known to be good.
const MARK = Symbol.for('cnnviz.error');

/** A CnnvizError raised by the CLI itself (bad arguments, paths), before TF.js is loaded. */
export class CliError extends Error {
  readonly code: CnnvizErrorCode;
  readonly [MARK] = true;
  constructor(code: CnnvizErrorCode, message: string) {
    super(message);
    this.name = 'CnnvizError';
    this.code = code;
  }
}

function isCnnvizError(e: unknown): e is { code: CnnvizErrorCode; message: string } {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[MARK] === true;
}

/** Exit codes: 0 done, 1 a bug or an environment failure, 2 bad input the user can fix, 130 interrupted. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

const USER_ERRORS: CnnvizErrorCode[] = [
  'BAD_IMAGE',
  'IMAGE_TOO_LARGE',
  'BAD_INPUT',
  'UNKNOWN_LAYER',
  'BAD_LAYER',
  'BAD_TARGET',
  'BAD_OPTION',
  'MODEL_LOAD',
  'UNSUPPORTED_LAYER',
  'MODEL_NOT_INSTALLED',
  'IO',
];

/** The fix to suggest for an error code when the message does not already say it. */
function hint(code: CnnvizErrorCode, command: string, model?: string): string | undefined {
  const m = model ? ` --model ${model}` : '';
  switch (code) {
    case 'UNKNOWN_LAYER':
    case 'BAD_LAYER':
      return `run \`cnnviz layers${m}\` to list the layers`;
    case 'BAD_TARGET':
      return `pass --target as a class index or label; \`cnnviz info${m}\` lists the classes`;
    case 'BAD_IMAGE':
      return 'pass a PNG or JPEG image file';
    case 'MODEL_LOAD':
      return 'use a zoo name (fashion-cnn, mobilenet-v2, inception-v3) or a path to a model.json with its weight files';
    case 'BAD_OPTION':
    case 'BAD_INPUT':
      return `see \`cnnviz ${command} --help\``;
    default:
      return undefined;
  }
}

export interface Reported {
  exitCode: number;
  /** The one line printed on stderr. */
  line: string;
  code: string;
}

/**
 * Turns any thrown value into one stderr line and an exit code. CnnvizErrors from bad input exit
 * 2 with the message and a fix; ABORTED exits 130; anything else is a bug and exits 1.
 */
export function report(e: unknown, command: string, model?: string): Reported {
  const prefix = `cnnviz${command ? ` ${command}` : ''}: `;
  if (isCnnvizError(e)) {
    const err = e;
    const message = err.message.split('\n')[0].replace(/[.\s]+$/, '');
    if (err.code === 'ABORTED')
      return { exitCode: EXIT.interrupted, line: `${prefix}interrupted; no output written`, code: err.code };
    const userError = USER_ERRORS.includes(err.code);
    const fix = userError ? hint(err.code, command, model) : undefined;
    const already = fix !== undefined && message.includes(fix.split(' ')[0] === 'see' ? '--help' : fix);
    return {
      exitCode: userError ? EXIT.usage : EXIT.failure,
      line: `${prefix}${message}${fix && !already ? ` — ${fix}` : ''}`,
      code: err.code,
    };
  }
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return {
    exitCode: EXIT.failure,
    line: `${prefix}unexpected error: ${msg} (please report it with the command line)`,
    code: 'INTERNAL',
  };
}
