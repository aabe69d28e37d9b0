import { check } from '../validate.js';

/** Checks an `[h, w]` target size: two positive integers. */
export function checkSize(size: unknown, name = 'size'): asserts size is [number, number] {
  check(
    Array.isArray(size) && size.length === 2 && size.every((d) => Number.isInteger(d) && d >= 1),
    'BAD_OPTION',
    () => `${name} must be [height, width] with positive integers, got ${JSON.stringify(size)}`,
  );
}
