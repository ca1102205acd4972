// The page: load the run's models once, then translate on each press of the button.
// `document.body.dataset.state` is `loading`, `ready`, `busy` or `error` (tests wait on it).

import {drawHeatmap} from './heatmap.js';
import {WebTranslator} from './translator.js';

const $ = (id) => document.getElementById(id);

function setState(state, message) {
  document.body.dataset.state = state;
  $('status').textContent = message;
  $('translate').disabled = state !== 'ready';
}

function describeRun(run) {
  const parts = [`${run.name}`, `max ${run.max_source_length} source tokens`];
  for (const [key, value] of Object.entries(run.metrics || {})) {
    parts.push(`${key} ${value}`);
  }
  $('run').textContent = parts.join(' · ');
}

async function main() {
  setState('loading', 'Loading LiteRT.js, the models and the vocabularies…');
  let translator;
  try {
    translator = await WebTranslator.load();
  } catch (error) {
    setState('error', `Could not load the translator: ${error.message}`);
    throw error;
  }
  describeRun(translator.run);
  const select = $('model');
  for (const name of Object.keys(translator.models)) {
    select.add(new Option(name, name, false, name === translator.run.default_model));
  }

  async function translate() {
    setState('busy', 'Translating…');
    try {
      const result = await translator.translate($('source').value, select.value);
      $('translation').textContent = result.translation;
      const cells = drawHeatmap($('heatmap'), result.attention, result.sourcePieces,
                                result.targetPieces);
      $('heatmap').dataset.cells = String(cells);
      const threads = `${translator.threads} thread${translator.threads > 1 ? 's' : ''}`;
      const notes = [`${result.milliseconds.toFixed(1)} ms in this browser (${threads})`,
                     `log-probability ${result.score.toFixed(3)}`];
      if (result.truncated) {
        notes.push(`source cut to its first ${translator.run.max_source_length} tokens`);
      }
      $('timing').textContent = notes.join(' · ');
      $('timing').dataset.milliseconds = String(result.milliseconds);
      $('timing').dataset.runMilliseconds = String(result.runMilliseconds);
      $('timing').dataset.threads = String(translator.threads);
      setState('ready', 'Ready.');
    } catch (error) {
      setState('error', `Translation failed: ${error.message}`);
      $('translate').disabled = false; // the models are loaded: another sentence may work
      throw error;
    }
  }

  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    translate();
  });
  setState('ready', 'Ready: everything runs in this browser, no server involved.');
}

main();
