import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '@cnnviz/core';
import type { ZooModel } from '@cnnviz/models';
import { drawTensor } from '@cnnviz/web';
import { MODELS, STYLE_IMAGES, imagesFor, loadPicture, pictureFromFile } from './catalog.js';
import { setup } from './setup.js';
import {
  TECHNIQUES,
  className,
  predict,
  runTechnique,
  techniqueInfo,
  type Frame,
  type TechniqueId,
} from './techniques.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  model: $<HTMLSelectElement>('model'),
  image: $<HTMLSelectElement>('image'),
  file: $<HTMLInputElement>('file'),
  technique: $<HTMLSelectElement>('technique'),
  layer: $<HTMLSelectElement>('layer'),
  target: $<HTMLSelectElement>('target'),
  steps: $<HTMLInputElement>('steps'),
  style: $<HTMLSelectElement>('style'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  download: $<HTMLButtonElement>('download'),
  input: $<HTMLCanvasElement>('input'),
  result: $<HTMLCanvasElement>('result'),
  inputCaption: $<HTMLElement>('input-caption'),
  caption: $<HTMLElement>('caption'),
  status: $<HTMLElement>('status'),
  backend: $<HTMLElement>('backend'),
  reason: $<HTMLElement>('reason'),
  tensors: $<HTMLElement>('tensors'),
  blurb: $<HTMLElement>('blurb'),
};

type State = 'loading' | 'ready' | 'running' | 'done' | 'cancelled' | 'error';

let model: ZooModel | undefined;
let picture: tf.Tensor3D | undefined;
let controller: AbortController | undefined;
const params = new URLSearchParams(location.search);

function setState(state: State, message?: string): void {
  document.body.dataset.state = state;
  if (message !== undefined) ui.status.textContent = message;
  const busy = state === 'loading' || state === 'running';
  ui.run.disabled = busy || !model || !picture;
  ui.cancel.disabled = state !== 'running';
  for (const el of [ui.model, ui.image, ui.file, ui.technique, ui.layer, ui.target, ui.steps, ui.style]) {
    el.disabled = busy;
  }
  ui.tensors.textContent = `${tf.memory().numTensors} tensors`;
}

function options(
  select: HTMLSelectElement,
  items: [value: string, label: string][],
  selected?: string,
): void {
  select.replaceChildren(
    ...items.map(([value, label]) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = label;
      return o;
    }),
  );
  if (selected !== undefined && items.some(([v]) => v === selected)) select.value = selected;
}

/** Canvas size for a picture: whole-number zoom up to about 256 px, so small images stay crisp. */
function displaySize(h: number, w: number): { width: number; height: number } {
  const k = Math.max(1, Math.floor(256 / Math.max(h, w)));
  return { width: w * k, height: h * k };
}

async function showInput(): Promise<void> {
  if (!picture || !model) return;
  const [h, w] = picture.shape;
  await drawTensor(ui.input, picture, displaySize(h, w));
  const p = await predict(model, picture);
  ui.inputCaption.textContent = `input ${w}×${h} · ${model.labels ? 'predicted' : 'top unit'}: ${className(model, p.label)} (p ${p.prob.toFixed(2)})`;
}

function refreshTechnique(): void {
  const t = techniqueInfo(ui.technique.value);
  ui.blurb.textContent = t.blurb;
  $('layer-row').hidden = t.layerRole === undefined;
  $('target-row').hidden = !t.usesTarget;
  $('steps-row').hidden = t.defaultSteps === undefined;
  $('style-row').hidden = t.id !== 'style';
  if (model && t.layerRole !== undefined) {
    const layers = t.id === 'tsne' && model.entry.name !== 'fashionCnn' ? [] : model.layers;
    options(
      ui.layer,
      layers.map((l) => [l.name, `${l.name} (${l.kind} ${l.outputShape.map((d) => d ?? '?').join('×')})`]),
      t.defaultLayer?.(model),
    );
    ui.layer.disabled = layers.length === 0;
  }
  if (model && t.defaultSteps) ui.steps.value = String(params.get('steps') ?? t.defaultSteps(model));
}

async function selectImage(name: string): Promise<void> {
  if (!model) return;
  const next = await loadPicture(name, model);
  picture?.dispose();
  picture = next;
  await showInput();
}

async function selectModel(id: string): Promise<void> {
  const choice = MODELS.find((m) => m.id === id) ?? MODELS[0];
  setState('loading', `Loading ${choice.label}…`);
  picture?.dispose();
  picture = undefined;
  model?.dispose?.();
  model = undefined;
  const loaded = await choice.load();
  model = loaded;
  options(ui.target, [
    ['', loaded.labels ? 'predicted class' : 'top unit (argmax)'],
    ...(loaded.labels ?? []).map((l, k): [string, string] => [String(k), l]),
  ]);
  const names = imagesFor(loaded);
  options(
    ui.image,
    names.map((n) => [n, n]),
    params.get('image') ?? names[0],
  );
  refreshTechnique();
  await selectImage(ui.image.value);
  setState('ready', `Ready: ${choice.label}, ${loaded.layers.length} layers.`);
}

/** What the current run has shown, for the status line and for tests. */
interface RunStats {
  started: number;
  last: number;
  frames: number;
  msPerStep: number;
}

function formatStatus(f: Frame, stats: RunStats): string {
  const parts = [`step ${f.step}/${f.steps}`];
  if (Number.isFinite(stats.msPerStep)) parts.push(`${stats.msPerStep.toFixed(0)} ms/step`);
  if (f.loss !== undefined && Number.isFinite(f.loss)) parts.push(`loss ${f.loss.toPrecision(4)}`);
  parts.push(`${((performance.now() - stats.started) / 1000).toFixed(1)} s`);
  return parts.join(' · ');
}

async function run(): Promise<void> {
  if (!model || !picture) return;
  const id = ui.technique.value as TechniqueId;
  const t = techniqueInfo(id);
  controller = new AbortController();
  const stats: RunStats = { started: performance.now(), last: performance.now(), frames: 0, msPerStep: NaN };
  let lastStep = 0;
  setState('running', `Running ${t.label}…`);
  ui.download.disabled = true;
  ui.caption.textContent = t.label;
  const emit = async (f: Frame) => {
    const now = performance.now();
    // Time per step from the steps done since the last frame (occlusion reports several windows at once).
    const done = Math.max(1, f.step - lastStep);
    stats.msPerStep = f.step > lastStep ? (now - stats.last) / done : stats.msPerStep;
    if (f.step > lastStep) {
      lastStep = f.step;
      stats.last = now;
    }
    stats.frames++;
    document.body.dataset.step = String(f.step);
    document.body.dataset.msPerStep = stats.msPerStep.toFixed(1);
    ui.status.textContent = formatStatus(f, stats);
    if (f.caption) ui.caption.textContent = f.caption;
    if (f.picture) {
      try {
        const [h, w] = f.picture.shape;
        await drawTensor(ui.result, f.picture, displaySize(h, w));
        document.body.dataset.frames = String(Number(document.body.dataset.frames ?? 0) + 1);
      } finally {
        f.picture.dispose();
      }
    }
  };
  document.body.dataset.frames = '0';
  document.body.dataset.step = '0';
  try {
    await runTechnique(
      id,
      {
        model,
        image: picture,
        layer: t.layerRole !== undefined && ui.layer.value ? ui.layer.value : undefined,
        target: t.usesTarget && ui.target.value !== '' ? Number(ui.target.value) : undefined,
        steps: t.defaultSteps ? Number(ui.steps.value) : undefined,
        style: ui.style.value,
        signal: controller.signal,
      },
      emit,
    );
    const seconds = (performance.now() - stats.started) / 1000;
    document.body.dataset.seconds = seconds.toFixed(2);
    ui.download.disabled = false;
    setState('done', `${t.label} done in ${seconds.toFixed(2)} s · ${ui.status.textContent}`);
  } catch (e) {
    if (CnnvizError.isInstance(e) && e.code === 'ABORTED') {
      setState('cancelled', `Cancelled after ${((performance.now() - stats.started) / 1000).toFixed(1)} s.`);
    } else {
      console.error(e);
      setState('error', `Error: ${(e as Error).message}`);
    }
  } finally {
    controller = undefined;
  }
}

function download(): void {
  ui.result.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `cnnviz-${ui.technique.value}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
}

async function useFile(file: File | undefined): Promise<void> {
  if (!file || !model) return;
  const prior = document.body.dataset.state as State;
  setState('loading', `Reading ${file.name}…`);
  try {
    const next = await pictureFromFile(file, model);
    picture?.dispose();
    picture = next;
    await showInput();
    setState('ready', `Using ${file.name}.`);
  } catch (e) {
    setState(prior === 'loading' ? 'ready' : prior, `Cannot read ${file.name}: ${(e as Error).message}`);
  }
}

/** Runs an async UI action; a failure shows in the status line instead of vanishing. */
function guard(action: () => Promise<void>): () => void {
  return () => {
    action().catch((e: unknown) => {
      console.error(e);
      setState('error', `Error: ${(e as Error).message}`);
    });
  };
}

async function start(): Promise<void> {
  options(
    ui.model,
    MODELS.map((m) => [m.id, m.label]),
    params.get('model') ?? undefined,
  );
  options(
    ui.technique,
    TECHNIQUES.map((t) => [t.id, t.label]),
    params.get('technique') ?? undefined,
  );
  options(
    ui.style,
    STYLE_IMAGES.map((s) => [s, s]),
  );
  const info = await setup();
  ui.backend.textContent =
    info.name + (info.adapter ? ` (${info.adapter.architecture || info.adapter.vendor})` : '');
  ui.reason.textContent = `${info.reason}${info.fixes.length ? ` Kernel fixes: ${info.fixes.join(', ')}.` : ''}`;
  document.body.dataset.backend = info.name;
  await selectModel(ui.model.value);

  ui.model.addEventListener(
    'change',
    guard(() => selectModel(ui.model.value)),
  );
  ui.image.addEventListener(
    'change',
    guard(async () => {
      setState('loading');
      await selectImage(ui.image.value);
      setState('ready', `Image: ${ui.image.value}.`);
    }),
  );
  ui.technique.addEventListener('change', refreshTechnique);
  ui.file.addEventListener(
    'change',
    guard(() => useFile(ui.file.files?.[0])),
  );
  ui.input.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.input.classList.add('dragging');
  });
  ui.input.addEventListener('dragleave', () => ui.input.classList.remove('dragging'));
  ui.input.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.input.classList.remove('dragging');
    guard(() => useFile(e.dataTransfer?.files[0]))();
  });
  ui.run.addEventListener('click', guard(run));
  ui.cancel.addEventListener('click', () => controller?.abort());
  ui.download.addEventListener('click', download);
}

guard(start)();
