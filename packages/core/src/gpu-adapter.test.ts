import { describe, expect, it } from 'vitest';
import { withShaderF16 } from './gpu-adapter.js';

// withShaderF16 on a stand-in for navigator.gpu: what reaches requestDevice, and that everything else passes through.

function fakeGpu(features: string[]) {
  const seen: unknown[] = [];
  const adapter = {
    features: new Set(features),
    info: { vendor: 'v', description: 'd' },
    limits: { maxBufferSize: 7 },
    requestDevice(d?: { requiredFeatures?: Iterable<string> }) {
      seen.push(d);
      return Promise.resolve({ features: new Set(d?.requiredFeatures ?? []) });
    },
  };
  const gpu = {
    requestAdapter: () => Promise.resolve(adapter),
    getPreferredCanvasFormat() {
      return this === gpu ? 'bgra8unorm' : 'wrong this';
    },
  };
  return { gpu, seen };
}

describe('withShaderF16', () => {
  it("adds 'shader-f16' to the device's features where the adapter offers it, keeping tfjs's own", async () => {
    const { gpu, seen } = fakeGpu(['shader-f16', 'timestamp-query']);
    const adapter = (await withShaderF16(gpu).requestAdapter()) as unknown as {
      info: object;
      limits: { maxBufferSize: number };
      requestDevice(d: object): Promise<{ features: Set<string> }>;
    };
    expect(adapter.info).toEqual({ vendor: 'v', description: 'd' });
    expect(adapter.limits.maxBufferSize).toBe(7);
    const device = await adapter.requestDevice({ requiredFeatures: ['timestamp-query'], label: 'x' });
    expect([...device.features]).toEqual(['timestamp-query', 'shader-f16']);
    expect(seen).toEqual([{ requiredFeatures: ['timestamp-query', 'shader-f16'], label: 'x' }]);
    // Asked for already: not twice.
    await adapter.requestDevice({ requiredFeatures: ['shader-f16'] });
    expect(seen[1]).toEqual({ requiredFeatures: ['shader-f16'] });
    expect(withShaderF16(gpu).getPreferredCanvasFormat()).toBe('bgra8unorm');
  });

  it('leaves an adapter without shader-f16, and a missing adapter, as they are', async () => {
    const { gpu, seen } = fakeGpu(['timestamp-query']);
    const adapter = await withShaderF16(gpu).requestAdapter();
    await (adapter as unknown as { requestDevice(d: object): Promise<unknown> }).requestDevice({});
    expect(seen).toEqual([{}]);
    const none = withShaderF16({ requestAdapter: () => Promise.resolve(null) });
    expect(await none.requestAdapter()).toBeNull();
  });
});
