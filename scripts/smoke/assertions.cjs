/* global module */
// The smoke test's checks, shared by esm.mjs and cjs.cjs. Each entry loads the packages in its own module
// format and passes them in, so this file imports nothing and the two runs cannot share a module instance.
'use strict';

function assert(cond, message) {
  if (!cond) throw new Error(`smoke assertion failed: ${message}`);
}

/** Runs every check; returns a one-line summary. `label` is 'esm' or 'cjs'. */
async function runChecks({ tf, core, models, attribution, synthesis }, label) {
  const t0 = Date.now();
  assert(await tf.setBackend('wasm'), 'the wasm backend initialises');
  await tf.ready();
  const fixes = core.registerKernelFixes('wasm');

  // The zoo model and image load from @cnnviz/models' installed assets folder (import.meta.url / __dirname).
  const model = await models.zoo.fashionCnn();
  const boot = await models.images.load('fashion-ankle-boot');
  assert(boot.shape.join() === '28,28,1', `ankle boot is [28,28,1], got [${boot.shape}]`);
  const logitsOf = (img) =>
    tf.tidy(() => tf.squeeze(model.forward(model.preprocess(tf.expandDims(img, 0))).logits, [0]));
  const clean = logitsOf(boot);
  const cleanLogits = await clean.data();
  clean.dispose();
  const predicted = cleanLogits.indexOf(Math.max(...cleanLogits));
  assert(predicted === 9, `fashionCnn classifies the bundled ankle boot as class 9, got ${predicted}`);
  const modelTensors = tf.memory().numTensors;

  // Saliency equals the central finite difference of logit[9] at its strongest pixel.
  const target = 9;
  const s = await attribution.saliency(model, boot, { target });
  assert(s.raw.shape.join() === '28,28,1' && s.map.shape.join() === '28,28', 'saliency shapes');
  const raw = await s.raw.data();
  const map = await s.map.data();
  let k = 0;
  for (let i = 1; i < raw.length; i++) if (Math.abs(raw[i]) > Math.abs(raw[k])) k = i;
  assert(Math.abs(map[k] - Math.abs(raw[k])) < 1e-6, 'map = |raw| for one channel');
  const h = 1e-3;
  const bumped = async (delta) => {
    const step = tf.buffer([28, 28, 1], 'float32');
    step.values[k] = delta;
    const y = tf.tidy(() => tf.add(boot, step.toTensor()));
    const l = logitsOf(y);
    const v = (await l.data())[target];
    tf.dispose([y, l]);
    return v;
  };
  const fd = ((await bumped(h)) - (await bumped(-h))) / (2 * h);
  const err = Math.abs(fd - raw[k]);
  assert(
    err <= 1e-2 + 0.02 * Math.abs(raw[k]),
    `saliency ${raw[k]} vs finite difference ${fd} at pixel ${k}`,
  );
  s.dispose();

  // FGSM: every pixel moves by at most epsilon, unclipped pixels by exactly epsilon, and the loss goes up.
  const epsilon = 0.05;
  const adv = await synthesis.adversarial(model, boot, { method: 'fgsm', epsilon, trueLabel: target });
  const delta = tf.sub(adv.image, boot);
  const diff = await delta.data();
  delta.dispose();
  const advPixels = await adv.image.data();
  let maxDiff = 0;
  for (const d of diff) maxDiff = Math.max(maxDiff, Math.abs(d));
  assert(Math.abs(maxDiff - epsilon) < 1e-6, `FGSM max |x_adv - x| = epsilon (${epsilon}), got ${maxDiff}`);
  assert(
    advPixels.every((v) => v >= 0 && v <= 1),
    'FGSM image stays in 0..1',
  );
  const ce = async (img) => {
    const l = logitsOf(img);
    const v = tf.tidy(() => tf.neg(tf.gather(tf.logSoftmax(l), target)));
    const out = (await v.data())[0];
    tf.dispose([l, v]);
    return out;
  };
  const ceClean = await ce(boot);
  const ceAdv = await ce(adv.image);
  assert(ceAdv > ceClean, `FGSM raises the cross-entropy of the true class (${ceClean} -> ${ceAdv})`);
  adv.dispose();

  // An iterative technique through core's optimisation loop, and the bundled style network of @cnnviz/synthesis.
  const last = await core.run(synthesis.visualizeClass(model, { target: 8, steps: 3, seed: 0 }));
  assert(
    last.steps === 3 && Number.isFinite(last.loss),
    `visualizeClass runs 3 steps, last ${JSON.stringify({ ...last, image: undefined })}`,
  );
  last.image?.dispose();
  const net = await synthesis.loadBundledStyleNetwork('starry_night');
  const photo = tf.tidy(() => tf.image.resizeBilinear(tf.tile(boot, [1, 1, 3]), [32, 32]));
  const styled = synthesis.applyStyleNetwork(net, photo);
  assert(styled.shape.join() === '32,32,3', `styled image is [32,32,3], got [${styled.shape}]`);
  const styledMoments = tf.tidy(() => tf.moments(styled));
  const variance = (await styledMoments.variance.data())[0];
  assert(variance > 1e-4, `the style network paints something (variance ${variance})`);
  tf.dispose([styled, photo, styledMoments.mean, styledMoments.variance]);
  net.dispose();

  boot.dispose();
  assert(
    tf.memory().numTensors === modelTensors - 1,
    `no tensor leaks (${tf.memory().numTensors} vs ${modelTensors - 1})`,
  );
  model.dispose?.();
  return (
    `${label}: ok in ${Date.now() - t0} ms (backend wasm, fixes ${fixes.length}; saliency ${raw[k].toFixed(4)} ` +
    `vs finite difference ${fd.toFixed(4)}; FGSM max |dx| ${maxDiff.toFixed(6)}, CE ${ceClean.toFixed(3)} -> ${ceAdv.toFixed(3)})`
  );
}

module.exports = { runChecks };
