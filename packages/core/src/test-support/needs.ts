import { describe, it } from 'vitest';

// Test support (not exported from the package): tests that need something outside npm (a browser, a Vulkan driver)
// skip on a machine without it, saying so in one line with the command that enables them, and FAIL under CI=true,
// where `.ci/run` installs everything: nothing skips silently in CI.

/** Whether a requirement is met, and if not, why. */
export interface Availability {
  ok: boolean;
  why: string;
}

/** A requirement: what it is, whether this machine has it, and the command that provides it. */
export interface Requirement extends Availability {
  what: string;
  enable: string;
}

/** WebGPU in Node: Dawn (npm `webgpu`) on a Vulkan driver. */
export const WEBGPU_IN_NODE = {
  what: 'a WebGPU adapter (Dawn on a Vulkan driver)',
  enable:
    'apt-get install -y libvulkan1 && apt-get install -y -t bookworm-backports mesa-vulkan-drivers (lavapipe, Mesa 25; as .ci/run does)',
};

/** Debian's chromium, driven through playwright-core (no Playwright browser download). */
export const CHROMIUM = {
  what: 'a chromium that starts',
  enable: 'apt-get install -y chromium (or CHROMIUM_PATH=/path/to/chromium)',
};

const inCi = () => /^(1|true)$/i.test(process.env.CI ?? '');

/** Prints the one skip line (once per requirement and test file). */
function skipLine(r: Requirement, skipped: string): void {
  process.stderr.write(`skipped: ${skipped} — needs ${r.what} (${r.why}); enable: ${r.enable}\n`);
}

/**
 * `describe(name, body)` when the requirement is met. Otherwise outside CI the block is skipped with one line on
 * stderr; under CI=true it is replaced by one failing test that says what is missing and why.
 */
export function describeNeeding(r: Requirement, name: string, body: () => void): void {
  if (r.ok) {
    describe(name, body);
  } else if (inCi()) {
    describe(name, () => {
      it(`needs ${r.what}`, () => {
        throw new Error(
          `${r.what} is missing in CI (${r.why}); .ci/run should have installed it: ${r.enable}`,
        );
      });
    });
  } else {
    skipLine(r, name);
    describe.skip(name, body);
  }
}
