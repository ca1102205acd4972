// An exported keras_seq translator in the browser: SentencePiece in, LiteRT.js
// (Wasm CPU runtime), SentencePiece out. The same steps as the Python client
// export/clients/litert_client.py, so both give the same translation.

import {Tensor, loadAndCompile, loadLiteRt} from '@litertjs/core';
import {SentencePieceProcessor} from '@sctg/sentencepiece-js';

const PAD_ID = 0;
const END_ID = 2;

/**
 * Threads for the models: all cores on a cross-origin isolated page (served with
 * the COOP and COEP headers that `python -m export web --serve` sends), where
 * LiteRT.js's threaded runtime can share memory with its workers; else one.
 */
export function threadCount() {
  return globalThis.crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

function base64(bytes) {
  let text = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    text += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(text);
}

/** A SentencePiece model with its pieces (`.vocab`: one `piece<TAB>score` per id). */
class Subwords {
  static async load(prefix) {
    const processor = new SentencePieceProcessor();
    // The package's own `load(url)` reads files with Node's fs; bytes work everywhere.
    await processor.loadFromB64StringModel(base64(await fetchBytes(`${prefix}.model`)));
    const vocab = new TextDecoder().decode(await fetchBytes(`${prefix}.vocab`));
    const pieces = vocab.split('\n').filter((line) => line).map((line) => line.split('\t')[0]);
    return new Subwords(processor, pieces);
  }

  constructor(processor, pieces) {
    this.processor = processor;
    this.pieces = pieces;
  }

  encode(text) {
    return this.processor.encodeIds(text);
  }

  decode(ids) {
    return ids.length ? this.processor.decodeIds(Int32Array.from(ids)) : '';
  }

  piece(id) {
    return this.pieces[id] ?? `<${id}>`;
  }
}

/**
 * The run's models and vocabularies, as `python -m export web` lays them out:
 * `run.json`, `models/*.tflite`, `vocab/{source,target}.{model,vocab}`, `wasm/`;
 * `threads` is what `threadCount` gave.
 */
export class WebTranslator {
  static async load(base = './') {
    const response = await fetch(`${base}run.json`);
    if (!response.ok) throw new Error(`${base}run.json: HTTP ${response.status}`);
    const run = await response.json();
    const threads = threadCount();
    await loadLiteRt(`${base}wasm/`, {threads: threads > 1});
    const [source, target] = await Promise.all([
      Subwords.load(`${base}vocab/source`),
      Subwords.load(`${base}vocab/target`),
    ]);
    const models = {};
    for (const [name, file] of Object.entries(run.models)) {
      models[name] = await loadAndCompile(`${base}${file}`, {
        accelerator: 'wasm',
        cpuOptions: {numThreads: threads},
      });
    }
    return new WebTranslator(run, source, target, models, threads);
  }

  constructor(run, source, target, models, threads = 1) {
    this.threads = threads;
    this.run = run;
    this.source = source;
    this.target = target;
    this.models = models;
  }

  /**
   * Translates one text with the model `name` (`greedy` or `beam`).
   *
   * Returns `{translation, score, truncated, sourcePieces, targetPieces,
   * attention, milliseconds, runMilliseconds}`: `attention[i][j]` is the weight of
   * source token `j` when the output token `i` was chosen (the end token's row
   * included); `milliseconds` times the whole translation, `runMilliseconds` the
   * model's run alone (without SentencePiece and the tensors' copies).
   */
  async translate(text, name) {
    const model = this.models[name];
    if (!model) {
      throw new Error(`No model ${JSON.stringify(name)}; this page has ${Object.keys(this.models)}`);
    }
    const started = performance.now();
    const tokens = this.source.encode(text);
    const [input] = model.getInputDetails();
    const width = input.shape[1];
    const kept = tokens.slice(0, width);
    const empty = {translation: '', score: 0, truncated: false, sourcePieces: [], targetPieces: []};
    if (!kept.length) return {...empty, attention: [], milliseconds: 0, runMilliseconds: 0};
    const ids = new Int32Array(width).fill(PAD_ID);
    ids.set(kept);
    const inputs = new Tensor(ids, [1, width]);
    let outputs;
    const runStarted = performance.now();
    try {
      outputs = await model.run({[input.name]: inputs});
    } finally {
      inputs.delete();
    }
    const runMilliseconds = performance.now() - runStarted;
    const read = (key) => outputs[key].toTypedArray();
    const length = read('lengths')[0];
    const outputIds = Array.from(read('ids').slice(0, length));
    const score = read('scores')[0];
    const attention = [];
    if (outputs.attention) {
      const weights = read('attention'); // (1, K, max_target_length, max_source_length)
      for (let step = 0; step < length; step++) {
        const row = weights.subarray(step * width, step * width + kept.length);
        attention.push(Array.from(row));
      }
    }
    for (const tensor of Object.values(outputs)) tensor.delete();
    const words = outputIds.filter((id) => id !== END_ID);
    return {
      translation: this.target.decode(words),
      score,
      truncated: tokens.length > width,
      sourcePieces: kept.map((id) => this.source.piece(id)),
      targetPieces: outputIds.map((id) => this.target.piece(id)),
      attention,
      milliseconds: performance.now() - started,
      runMilliseconds,
    };
  }
}
