import { check, type ForwardOptions } from '@cnnviz/core';

/** Checks `forward`'s options; true unless the caller asked to stop at the taps (`{ logits: false }`). */
export function wantsLogits(opts: ForwardOptions): boolean {
  check(
    typeof opts === 'object' && opts !== null,
    'BAD_OPTION',
    'forward options must be an object like { logits: false }',
  );
  return opts.logits !== false;
}
