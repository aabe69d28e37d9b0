import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes } from '@cnnviz/core';
import { mobilenetV2 } from '../benchmarks/mobilenet-v2.js';
import { vgg16 } from '../benchmarks/vgg16.js';
tf.env().set('PROD', true);
await tf.setBackend('wasm');
registerKernelFixes('wasm');
const log: string[] = [];
const agg: Record<string, [number, number]> = {};
let depth = 0;
for (const cfg of tf.getKernelsForBackend('wasm')) {
  const f = cfg.kernelFunc;
  tf.unregisterKernel(cfg.kernelName, 'wasm');
  tf.registerKernel({ ...cfg, kernelFunc: (args) => {
    const c = process.cpuUsage(); depth++;
    try { return f(args); } finally { depth--; const d = process.cpuUsage(c); const key = (depth > 0 ? '  nested ' : '') + cfg.kernelName; if (process.env.SHAPES && cfg.kernelName.startsWith(process.env.SHAPES)) log.push(`${key} ${JSON.stringify(Object.values(args.inputs).map((t: any) => t.shape))} ${((d.user + d.system) / 1000).toFixed(2)}`); const a = (agg[key] ??= [0, 0]); a[0] += (d.user + d.system) / 1000; a[1]++; }
  } });
}
const b = process.argv[2] === 'vgg' ? vgg16 : mobilenetV2;
const v = process.argv[3] === 'extra' ? b.extras![0] : b.cnnviz;
const step = await v.setup();
step(); step();
for (const k of Object.keys(agg)) delete agg[k]; log.length = 0;
const c = process.cpuUsage();
step();
const d = process.cpuUsage(c);
console.log('step cpu', (d.user + d.system) / 1000);
console.log(Object.entries(agg).sort((a, b) => b[1][0] - a[1][0]).slice(0, 25).map(([k, v]) => `${k} ${v[0].toFixed(1)} (${v[1]})`).join('\n'));
console.log(log.join('\n'));
