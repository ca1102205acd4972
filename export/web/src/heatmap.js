// Attention heat map on a canvas: output subwords down the side, source subwords
// along the top, one cell per weight (white = 0, dark blue = 1).

const CELL = 26;
const FONT = '12px system-ui, sans-serif';

function shade(weight) {
  const w = Math.min(Math.max(weight, 0), 1);
  const mix = (from, to) => Math.round(from + (to - from) * w);
  return `rgb(${mix(255, 8)}, ${mix(255, 48)}, ${mix(255, 107)})`;
}

function label(piece) {
  return piece.replace(/\u2581/g, '_');
}

/**
 * Draws `attention[i][j]` (output token i, source token j) on `canvas`.
 * Returns the number of cells drawn.
 */
export function drawHeatmap(canvas, attention, sourcePieces, targetPieces) {
  const context = canvas.getContext('2d');
  context.font = FONT;
  const measure = (pieces) =>
    Math.max(0, ...pieces.map((piece) => context.measureText(label(piece)).width));
  const left = Math.ceil(measure(targetPieces)) + 12;
  const top = Math.ceil(measure(sourcePieces)) + 12;
  const rows = attention.length;
  const columns = sourcePieces.length;
  canvas.width = left + columns * CELL + 4;
  canvas.height = top + rows * CELL + 4;
  context.font = FONT; // resizing resets the context
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);

  context.fillStyle = '#222';
  context.textBaseline = 'middle';
  context.textAlign = 'right';
  targetPieces.slice(0, rows).forEach((piece, i) => {
    context.fillText(label(piece), left - 6, top + i * CELL + CELL / 2);
  });
  context.textAlign = 'left';
  sourcePieces.forEach((piece, j) => {
    context.save();
    context.translate(left + j * CELL + CELL / 2, top - 6);
    context.rotate(-Math.PI / 2);
    context.fillText(label(piece), 0, 0);
    context.restore();
  });

  let cells = 0;
  attention.forEach((row, i) => {
    row.slice(0, columns).forEach((weight, j) => {
      context.fillStyle = shade(weight);
      context.fillRect(left + j * CELL, top + i * CELL, CELL - 1, CELL - 1);
      cells += 1;
    });
  });
  context.strokeStyle = '#999';
  context.strokeRect(left - 0.5, top - 0.5, columns * CELL, rows * CELL);
  return cells;
}
