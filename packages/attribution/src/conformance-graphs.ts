import { zeroInsertValues } from './conformance-nets.js';

// Test helper (not exported from the package): hand-written GraphModel fixtures in the converter's model.json format
// (a `modelTopology.node` list with TensorFlow AttrValue JSON, weights in a manifest), one per group of common ops.
// Each builder makes the graph under test (`ref: false`) or its reference twin (`ref: true`) that stock TF.js can
// run and differentiate: NHWC instead of NCHW, undilated convolutions on zero-inserted filters.

type Attr = Record<string, unknown>;
interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: number[];
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (v: number[]): Attr => ({ list: { i: v.map(String) } });
const str = (s: string): Attr => ({ s: b64(s) });
const float: Attr = { type: 'DT_FLOAT' };

let rngState = 1;
function rand(n: number, lo = -0.5, hi = 0.5): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    rngState = (rngState * 1103515245 + 12345) % 2147483648;
    out.push(lo + ((hi - lo) * rngState) / 2147483648);
  }
  return out;
}

/** A graph under construction; `ops` records every op type used. */
export class GraphBuilder {
  nodes: Attr[] = [];
  weights: Weight[] = [];
  ops = new Set<string>();

  input(name: string, shape: number[]): string {
    this.ops.add('Placeholder');
    this.nodes.push({
      name,
      op: 'Placeholder',
      attr: { dtype: float, shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } } },
    });
    return name;
  }

  weight(name: string, shape: number[], data?: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    const values = data ?? rand(shape.reduce((a, b) => a * b, 1));
    const type = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    const dim = shape.map((s) => ({ size: String(s) }));
    this.nodes.push({
      name,
      op: 'Const',
      attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: { dim } } } },
    });
    this.weights.push({ name, shape, dtype, data: values });
    return name;
  }

  ints(name: string, values: number[], shape = [values.length]): string {
    return this.weight(name, shape, values, 'int32');
  }

  op(name: string, op: string, input: string[], attr: Attr = {}): string {
    this.ops.add(op);
    this.nodes.push({ name, op, input, attr: { T: float, ...attr } });
    return name;
  }

  /** model.json + the weight bytes, as tensorflowjs_converter writes them. */
  artifacts(): { json: Attr; data: Uint8Array } {
    const bufs = this.weights.map((w) =>
      w.dtype === 'int32'
        ? new Uint8Array(Int32Array.from(w.data).buffer)
        : new Uint8Array(Float32Array.from(w.data).buffer),
    );
    const data = new Uint8Array(bufs.reduce((a, b) => a + b.length, 0));
    let at = 0;
    for (const b of bufs) {
      data.set(b, at);
      at += b.length;
    }
    return {
      json: {
        format: 'graph-model',
        generatedBy: '2.16.1',
        convertedBy: 'cnnviz conformance fixture',
        modelTopology: { node: this.nodes, library: {}, versions: { producer: 1645 } },
        weightsManifest: [
          {
            paths: ['weights.bin'],
            weights: this.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
          },
        ],
      },
      data,
    };
  }
}

const conv = (s: number[], pad: string, fmt = 'NHWC', dil = [1, 1, 1, 1]): Attr => ({
  strides: ints(s),
  padding: str(pad),
  data_format: str(fmt),
  dilations: ints(dil),
});

export interface GraphFixture {
  name: string;
  /** Whether the model input is NCHW (the twin is NHWC). */
  nchw?: boolean;
  build(ref: boolean): GraphBuilder;
}

function dilatedWeight(g: GraphBuilder, name: string, shape: number[], d: number, ref: boolean): string {
  const data = rand(shape.reduce((a, b) => a * b, 1));
  if (!ref) return g.weight(name, shape, data);
  const z = zeroInsertValues(data, shape, d, d);
  return g.weight(name, z.shape, Array.from(z.data));
}

export const GRAPHS: GraphFixture[] = [
  {
    name: 'conv-biasadd-relu-maxpool-matmul-softmax',
    build: () => {
      rngState = 11;
      const g = new GraphBuilder();
      const x = g.input('x', [-1, 8, 8, 3]);
      let y = g.op('conv', 'Conv2D', [x, g.weight('w1', [3, 3, 3, 4])], conv([1, 1, 1, 1], 'SAME'));
      y = g.op('bias', 'BiasAdd', [y, g.weight('b1', [4])], { data_format: str('NHWC') });
      y = g.op('relu', 'Relu', [y]);
      y = g.op('pool', 'MaxPool', [y], { ksize: ints([1, 2, 2, 1]), ...conv([1, 2, 2, 1], 'VALID') });
      y = g.op('flat', 'Reshape', [y, g.ints('flat_shape', [-1, 64])], { Tshape: { type: 'DT_INT32' } });
      y = g.op('fc', 'MatMul', [y, g.weight('w2', [64, 3])], {
        transpose_a: { b: false },
        transpose_b: { b: false },
      });
      y = g.op('fc_bias', 'BiasAdd', [y, g.weight('b2', [3])], { data_format: str('NHWC') });
      g.op('probs', 'Softmax', [y]);
      return g;
    },
  },
  {
    name: 'fused-conv-fused-depthwise-mean',
    build: () => {
      rngState = 12;
      const g = new GraphBuilder();
      const x = g.input('x', [-1, 8, 8, 3]);
      let y = g.op('fconv', '_FusedConv2D', [x, g.weight('w1', [3, 3, 3, 4]), g.weight('b1', [4])], {
        ...conv([1, 1, 1, 1], 'SAME'),
        num_args: { i: '1' },
        fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
        epsilon: { f: 0 },
      });
      y = g.op('fdw', 'FusedDepthwiseConv2dNative', [y, g.weight('dw', [3, 3, 4, 1]), g.weight('db', [4])], {
        ...conv([1, 2, 2, 1], 'SAME'),
        num_args: { i: '1' },
        fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } },
      });
      y = g.op('gap', 'Mean', [y, g.ints('axes', [1, 2])], {
        keep_dims: { b: false },
        Tidx: { type: 'DT_INT32' },
      });
      g.op('logits', 'MatMul', [y, g.weight('w2', [4, 3])], {
        transpose_a: { b: false },
        transpose_b: { b: false },
      });
      return g;
    },
  },
  {
    name: 'dilated-depthwise-batchnorm-elu-avgpool',
    build: (ref) => {
      rngState = 13;
      const g = new GraphBuilder();
      const x = g.input('x', [-1, 8, 8, 3]);
      const d = ref ? [1, 1, 1, 1] : [1, 2, 2, 1];
      let y = g.op(
        'dw',
        'DepthwiseConv2dNative',
        [x, dilatedWeight(g, 'dw_w', [3, 3, 3, 2], 2, ref)],
        conv([1, 1, 1, 1], 'SAME', 'NHWC', d),
      );
      y = g.op(
        'bn',
        'FusedBatchNormV3',
        [
          y,
          g.weight('gamma', [6], rand(6, 0.5, 1.5)),
          g.weight('beta', [6]),
          g.weight('mean', [6]),
          g.weight('var', [6], rand(6, 0.5, 1.5)),
        ],
        { epsilon: { f: 0.001 }, data_format: str('NHWC'), U: float },
      );
      y = g.op('elu', 'Elu', [y]);
      y = g.op(
        'conv',
        'Conv2D',
        [y, dilatedWeight(g, 'w', [2, 2, 6, 4], 2, ref)],
        conv([1, 1, 1, 1], 'VALID', 'NHWC', d),
      );
      y = g.op('pool', 'AvgPool', [y], { ksize: ints([1, 2, 2, 1]), ...conv([1, 2, 2, 1], 'SAME') });
      y = g.op('flat', 'Reshape', [y, g.ints('flat_shape', [-1, 36])], { Tshape: { type: 'DT_INT32' } });
      g.op('logits', 'MatMul', [y, g.weight('w2', [36, 3])], {
        transpose_a: { b: false },
        transpose_b: { b: false },
      });
      return g;
    },
  },
  {
    name: 'merges-sigmoid-tanh-concat-squeeze',
    build: () => {
      rngState = 14;
      const g = new GraphBuilder();
      const x = g.input('x', [-1, 8, 8, 3]);
      const a = g.op('sig', 'Sigmoid', [
        g.op('ca', 'Conv2D', [x, g.weight('wa', [3, 3, 3, 4])], conv([1, 1, 1, 1], 'SAME')),
      ]);
      const b = g.op('tanh', 'Tanh', [
        g.op('cb', 'Conv2D', [x, g.weight('wb', [1, 1, 3, 4])], conv([1, 1, 1, 1], 'SAME')),
      ]);
      const s = g.op('add', 'AddV2', [a, b]);
      const m = g.op('mul', 'Mul', [s, a]);
      const c = g.op('cat', 'ConcatV2', [m, b, g.ints('cat_axis', [3], [])], {
        N: { i: '2' },
        Tidx: { type: 'DT_INT32' },
      });
      let y = g.op('gap', 'Mean', [c, g.ints('axes', [1, 2])], {
        keep_dims: { b: true },
        Tidx: { type: 'DT_INT32' },
      });
      y = g.op('squeeze', 'Squeeze', [y], { squeeze_dims: ints([1, 2]) });
      g.op('logits', 'MatMul', [y, g.weight('w2', [8, 3])], {
        transpose_a: { b: false },
        transpose_b: { b: false },
      });
      return g;
    },
  },
  {
    name: 'transpose-pad-strided-relu6',
    build: () => {
      rngState = 15;
      const g = new GraphBuilder();
      const x = g.input('x', [-1, 8, 8, 3]);
      let y = g.op('transpose', 'Transpose', [x, g.ints('perm', [0, 2, 1, 3])], {
        Tperm: { type: 'DT_INT32' },
      });
      y = g.op('pad', 'Pad', [y, g.ints('paddings', [0, 0, 1, 1, 1, 1, 0, 0], [4, 2])], {
        Tpaddings: { type: 'DT_INT32' },
      });
      y = g.op('conv', 'Conv2D', [y, g.weight('w', [3, 3, 3, 4])], conv([1, 2, 2, 1], 'VALID'));
      y = g.op('relu6', 'Relu6', [y]);
      y = g.op('flat', 'Reshape', [y, g.ints('flat_shape', [-1, 64])], { Tshape: { type: 'DT_INT32' } });
      g.op('logits', 'MatMul', [y, g.weight('w2', [64, 3])], {
        transpose_a: { b: false },
        transpose_b: { b: false },
      });
      return g;
    },
  },
  {
    name: 'nchw-conv-biasadd-batchnorm-maxpool',
    nchw: true,
    build: (ref) => {
      rngState = 16;
      const g = new GraphBuilder();
      const f = ref ? 'NHWC' : 'NCHW';
      const s = (h: number, w: number) => (ref ? [1, h, w, 1] : [1, 1, h, w]);
      const x = g.input('x', ref ? [-1, 8, 8, 3] : [-1, 3, 8, 8]);
      let y = g.op('conv', 'Conv2D', [x, g.weight('w1', [3, 3, 3, 4])], conv(s(1, 1), 'SAME', f));
      y = g.op('bias', 'BiasAdd', [y, g.weight('b1', [4])], { data_format: str(f) });
      y = g.op(
        'bn',
        'FusedBatchNormV3',
        [
          y,
          g.weight('gamma', [4], rand(4, 0.5, 1.5)),
          g.weight('beta', [4]),
          g.weight('mean', [4]),
          g.weight('var', [4], rand(4, 0.5, 1.5)),
        ],
        { epsilon: { f: 0.001 }, data_format: str(f), U: float },
      );
      y = g.op('relu', 'Relu', [y]);
      y = g.op('fconv', '_FusedConv2D', [y, g.weight('w2', [3, 3, 4, 4]), g.weight('b2', [4])], {
        ...conv(s(1, 1), 'SAME', f),
        num_args: { i: '1' },
        fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
      });
      y = g.op('pool', 'MaxPool', [y], { ksize: ints(s(2, 2)), ...conv(s(2, 2), 'VALID', f) });
      y = g.op('apool', 'AvgPool', [y], { ksize: ints(s(2, 2)), ...conv(s(1, 1), 'SAME', f) });
      y = g.op('gap', 'Mean', [y, g.ints('axes', ref ? [1, 2] : [2, 3])], {
        keep_dims: { b: false },
        Tidx: { type: 'DT_INT32' },
      });
      g.op('logits', 'MatMul', [y, g.weight('w3', [4, 3])], {
        transpose_a: { b: false },
        transpose_b: { b: false },
      });
      return g;
    },
  },
];

/** Graphs cnnviz must refuse at load time, with the op it must name. */
export const UNSUPPORTED_GRAPHS: { name: string; op: string; build(): GraphBuilder }[] = [
  {
    name: 'argmax-output',
    op: 'ArgMax',
    build: () => {
      const g = new GraphBuilder();
      const x = g.input('x', [-1, 8, 8, 3]);
      const y = g.op('gap', 'Mean', [x, g.ints('axes', [1, 2])], {
        keep_dims: { b: false },
        Tidx: { type: 'DT_INT32' },
      });
      g.op('argmax', 'ArgMax', [y, g.ints('dim', [1], [])], {
        Tidx: { type: 'DT_INT32' },
        output_type: { type: 'DT_INT32' },
      });
      return g;
    },
  },
  {
    name: 'unknown-op',
    op: 'CnnvizNoSuchOp',
    build: () => {
      const g = new GraphBuilder();
      const x = g.input('x', [-1, 8, 8, 3]);
      g.op('strange', 'CnnvizNoSuchOp', [x]);
      return g;
    },
  },
];
