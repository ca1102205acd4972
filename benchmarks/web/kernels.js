// The page for `python -m benchmarks.web_kernels`: times one TFLite model on
// LiteRT.js's WebAssembly CPU runtime, as the translator page runs its models.

import {Tensor, loadAndCompile, loadLiteRt} from '@litertjs/core';

const ready = loadLiteRt('./wasm/');

/** Median milliseconds of `repeats` runs (after one warm-up) of the model at `url`. */
window.timeModel = async (url, shape, repeats) => {
  await ready;
  const model = await loadAndCompile(url, {accelerator: 'wasm', cpuOptions: {numThreads: 1}});
  const [input] = model.getInputDetails();
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1);
  const times = [];
  for (let i = 0; i <= repeats; i++) {
    const tensor = new Tensor(data, shape);
    const started = performance.now();
    const outputs = await model.run({[input.name]: tensor});
    times.push(performance.now() - started);
    tensor.delete();
    for (const output of Object.values(outputs)) output.delete();
  }
  model.delete();
  times.shift();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
};
