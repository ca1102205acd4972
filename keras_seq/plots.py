"""Plots of runs: attention heat maps, the tag confusion matrix, learning curves.

Each draws on a `matplotlib.figure.Figure` of its own and writes a PNG, as Keras'
`keras.utils.plot_*` do: no pyplot state, and the user's matplotlib backend is
never switched.
"""

import csv

import numpy as np

from keras_seq._optional import optional_import

__all__ = ["plot_attention", "plot_history", "plot_points", "plot_tag_confusion"]


def _figure(what, figsize):
    """A new `Figure` (not registered with pyplot); names `what` if matplotlib is missing."""
    optional_import("matplotlib", "matplotlib", what)
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _save(figure, path):
    """Writes `figure` as a PNG to `path` (a file name or a binary file object)."""
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")


def plot_attention(source_pieces, target_pieces, weights, path, title=None):
    """Writes a heat map PNG of `weights (target, source)` with the pieces on the axes.

    Weights `(target, heads, source)` (a multi-head attention's, from
    `translate(..., return_attention="heads")`) draw one panel for the mean over
    heads, then one per head, side by side.
    """
    weights = np.asarray(weights)
    panels = [("", weights)]
    if weights.ndim == 3:
        heads = weights.shape[1]
        panels = [("mean of the heads", weights.mean(axis=1))]
        panels += [(f"head {h + 1}", weights[:, h]) for h in range(heads)]
    # Room for the rotated source pieces below and the target pieces at the left, so a
    # short translation of long pieces still has a heat map.
    longest = [
        max((len(piece) for piece in pieces), default=0)
        for pieces in (source_pieces, target_pieces)
    ]
    width = 1 + 0.45 * len(source_pieces) + 0.08 * longest[1]
    height = 1.5 + 0.4 * len(target_pieces) + 0.08 * longest[0]
    figure = _figure("Attention heat maps", (width * len(panels), height))
    for i, (label, panel) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), i + 1)
        axes.imshow(panel, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        axes.set_xticks(range(len(source_pieces)), source_pieces, rotation=90)
        axes.set_yticks(range(len(target_pieces)), target_pieces if i == 0 else [])
        axes.set_xlabel("source")
        if i == 0:
            axes.set_ylabel("translation")
        heading = " · ".join(part for part in (title if i == 0 else None, label) if part)
        if heading:
            axes.set_title(heading, fontsize=9)
    _save(figure, path)


def plot_tag_confusion(gold, predicted, tags, path):
    """Writes a PNG of the word-level tag confusion matrix (rows gold, columns predicted).

    Each row is normalised to the fraction of its gold words; the counts are printed
    in the cells. Tags missing from `tags` (gold tags unseen in training) are added
    at the end.
    """
    seen = {t for sentence in (*gold, *predicted) for t in sentence}
    tags = [*tags, *sorted(seen - set(tags))]  # gold tags the model never learned, too
    index = {tag: i for i, tag in enumerate(tags)}
    counts = np.zeros((len(tags), len(tags)), np.int64)
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        for g, p in zip(gold_tags, predicted_tags, strict=True):
            counts[index[g], index[p]] += 1
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.5 + 0.55 * len(tags)
    figure = _figure("The tag confusion matrix", (size + 1, size))
    axes = figure.subplots()
    image = axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    for i, j in zip(*np.nonzero(counts), strict=True):
        color = "white" if fractions[i, j] > 0.5 else "black"
        axes.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7, color=color)
    axes.set_xticks(range(len(tags)), tags, rotation=90)
    axes.set_yticks(range(len(tags)), tags)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    figure.colorbar(image, ax=axes, fraction=0.046)
    _save(figure, path)


def plot_history(history_csv, path):
    """Writes learning curves: training and validation loss, and validation BLEU if logged.

    Args:
        history_csv: a `history.csv` of `keras.callbacks.CSVLogger` (one row per epoch).
        path: the PNG to write.
    """
    with open(history_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{history_csv} holds no epoch.")
    epochs = [int(row["epoch"]) + 1 for row in rows]
    panels = [("loss", ("loss", "val_loss")), ("BLEU (greedy, validation subset)", ("val_bleu",))]
    panels = [(title, keys) for title, keys in panels if keys[-1] in rows[0]]
    figure = _figure("Learning curves", (5 * len(panels), 3.5))
    for axis, (title, keys) in zip(
        figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True
    ):
        for key in keys:
            axis.plot(epochs, [float(row[key]) for row in rows], marker="o", label=key)
        axis.set_xlabel("epoch")
        axis.set_title(title)
        axis.legend()
    _save(figure, path)


def plot_points(points, path, xlabel, ylabel, title=None):
    """Writes a labelled scatter PNG of `points`, `(label, x, y)` each (e.g. BLEU against
    training time, one point per model)."""
    figure = _figure("Comparison plots", (7, 5))
    axes = figure.subplots()
    for label, x, y in points:
        axes.scatter([x], [y])
        axes.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title, fontsize=9)
    _save(figure, path)


def plot_lines(lines, path, xlabel, ylabel, title=None):
    """Writes a PNG of one line per label, `{label: [y at x = 1, 2, ...]}` (e.g. the
    error of each model at each horizon step)."""
    figure = _figure("Comparison plots", (7, 4.5))
    axes = figure.subplots()
    for label, ys in lines.items():
        axes.plot(range(1, len(ys) + 1), ys, marker="o", markersize=3, label=label)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    if title:
        axes.set_title(title, fontsize=9)
    _save(figure, path)


def plot_forecasts(times, values, forecasts, path, title=None):
    """Writes a PNG of a series' tail and forecasts of it, with their intervals.

    Args:
        times, values: the series (x and y).
        forecasts: `{label: [(origin, point, [lower, upper]), ...]}`: each a forecast
            starting at x = `origin`; `lower`/`upper` (optional) shade its interval.
        path: the PNG file.
    """
    figure = _figure("Forecast plots", (10, 4.5))
    axes = figure.subplots()
    axes.plot(times, values, color="black", linewidth=1.2, label="truth")
    for index, (label, pieces) in enumerate(forecasts.items()):
        color = f"C{index}"
        for n, (origin, point, *interval) in enumerate(pieces):
            steps = range(origin, origin + len(point))
            axes.plot(steps, point, color=color, linewidth=1, label=None if n else label)
            if interval:
                axes.fill_between(steps, interval[0], interval[1], color=color, alpha=0.12)
    axes.set_xlabel("time step")
    axes.legend(fontsize=8, ncol=3)
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title, fontsize=9)
    _save(figure, path)
