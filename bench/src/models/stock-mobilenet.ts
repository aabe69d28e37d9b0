import * as tfl from '@tensorflow/tfjs-layers';
import { zooLayersModel } from '@cnnviz/models';

/**
 * The zoo's MobileNetV2 backbone (224px, input 0..1; @cnnviz/zoo-mobilenet-v2) as a stock tf.LayersModel with
 * global average pooling on out_relu: 1280 outputs, the same values as zoo.mobilenetV2Features' logits.
 */
export async function loadStockMobileNetV2(): Promise<tfl.LayersModel> {
  const backbone = await zooLayersModel('mobilenetV2Features');
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(backbone.outputs[0]);
  return tfl.model({ inputs: backbone.inputs, outputs: pooled as tfl.SymbolicTensor });
}
