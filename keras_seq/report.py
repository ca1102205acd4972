"""The run report: RUN/report/index.html, one self-contained page of a translation run.

The page shows the run's settings and scores, its learning curves, and attention heat
maps of test sentences, sorted into monotonic and reordering alignments
(`keras_seq.evaluation.alignment_summary`), then the worst translations by sentence
chrF with their heat maps. Images are embedded: the page needs no network and no
other file. `recipes/translate.py` writes it at the end of a run and
`recipes/attention_gallery.py RUN` rewrites it.
"""

import base64
import html
import io
import os

from keras_seq import evaluation, plots
from keras_seq.evaluation import MONOTONIC_TAU
from keras_seq.tasks.preset import RunFolder
from keras_seq.tasks.translator import Translator

__all__ = ["REPORT", "write_report"]

REPORT = RunFolder.REPORT
# Settings and scores shown at the top, in this order, when the run has them.
SETTINGS = (
    "dataset",
    "preset",
    "vocab_size",
    "joint_vocab",
    "embedding_dim",
    "units",
    "encoder_layers",
    "decoder_layers",
    "cell",
    "attention",
    "tie_embeddings",
    "dropout",
    "word_dropout",
    "subword_dropout",
    "label_smoothing",
    "batch_size",
    "epochs",
    "learning_rate",
    "precision",
    "beam_size",
    "length_penalty",
    "max_source_length",
    "max_target_length",
)
SCORES = (
    ("bleu", "BLEU, beam"),
    ("bleu_greedy", "BLEU, greedy"),
    ("chrf", "chrF, beam"),
    ("chrf_greedy", "chrF, greedy"),
    ("exact_match", "exact match, beam (fraction)"),
    ("perplexity", "test perplexity"),
    ("train_seconds", "training (s)"),
    ("target_tokens_per_second", "target tokens / s"),
    ("train_pairs", "training pairs"),
    ("test_pairs", "test pairs"),
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table.kv td { padding: 2px 12px 2px 0; } table.kv td:first-child { color: #555; }
.cards { display: flex; flex-wrap: wrap; gap: 16px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px; max-width: 520px; }
.card p { margin: 2px 0; font-size: 0.9em; } .card img { max-width: 100%; }
.stats { color: #555; font-size: 0.85em; }
"""


def data_uri(png_bytes):
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def heat_map_png(source_pieces, target_pieces, weights):
    buffer = io.BytesIO()
    plots.plot_attention(source_pieces, target_pieces, weights, buffer)
    return buffer.getvalue()


def sentence_cards(run, sources, references, pool):
    """One dict per test sentence of the first `pool`: texts, greedy output, attention, scores.

    `map` holds the attention (`AttentionMaps`); `add_images` draws the cards shown.
    """
    import sacrebleu  # deferred: the optional sacrebleu

    translator = Translator.from_preset(run.path, compile=False)
    sources, references = sources[:pool], references[:pool]
    hypotheses, maps = translator.translate(sources, "greedy", return_attention=True)
    cards = []
    for i, (source, reference, hypothesis, (pieces_in, pieces_out, weights)) in enumerate(
        zip(sources, references, hypotheses, maps, strict=True)
    ):
        cards.append(
            {
                "index": i,
                "source": source,
                "reference": reference,
                "translation": hypothesis,
                "chrf": sacrebleu.sentence_chrf(hypothesis, [reference]).score,
                **evaluation.alignment_summary(weights),
                "map": (pieces_in, pieces_out, weights),
            }
        )
    return cards


def add_images(cards):
    """Draws each card's heat map once (a card can be in two sections)."""
    for card in cards:
        if "image" not in card:
            card["image"] = heat_map_png(*card["map"])


def card_html(card):
    e = html.escape
    return (
        '<div class="card">'
        f"<p><b>source</b> {e(card['source'])}</p>"
        f"<p><b>reference</b> {e(card['reference'])}</p>"
        f"<p><b>greedy</b> {e(card['translation'])}</p>"
        f'<p class="stats">test sentence {card["index"] + 1} · chrF {card["chrf"]:.1f} · '
        f"tau {card['tau']:.2f} · {card['crossings']} crossing pairs · "
        f"entropy {card['entropy']:.2f} nats</p>"
        f'<img alt="attention of test sentence {card["index"] + 1}" '
        f'src="{data_uri(card["image"])}">'
        "</div>"
    )


def key_values(rows):
    return (
        '<table class="kv">'
        + "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        + "</table>"
    )


def number(value):
    if isinstance(value, float):
        # Two decimals, but small settings (learning rates) keep their significant digits.
        return f"{value:,.2f}" if value == 0 or abs(value) >= 0.1 else f"{value:.2g}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def export_rows(run):
    """`(name, size)` of the run's exported files."""
    rows = []
    saved_model = run[RunFolder.SAVED_MODEL]
    if os.path.isdir(saved_model):
        size = sum(
            os.path.getsize(os.path.join(d, f))
            for d, _, files in os.walk(saved_model)
            for f in files
        )
        rows.append(("saved_model/", f"{size / 1e6:.1f} MB"))
    tflite = run[RunFolder.TFLITE]
    if os.path.isdir(tflite):
        for name in sorted(os.listdir(tflite)):
            rows.append(
                (f"tflite/{name}", f"{os.path.getsize(os.path.join(tflite, name)) / 1e6:.1f} MB")
            )
    return rows


def write_report(run_dir, num_sentences=24, num_worst=8, pool=200):
    """Writes `RUN/report/index.html`; returns its path and what the gallery found.

    Args:
        run_dir: a translation run folder that has been evaluated.
        num_sentences: test sentences in the gallery (the first ones of the test split).
        num_worst: worst translations by greedy sentence chrF, among the first `pool`.
        pool: test sentences decoded for the page.

    Returns:
        dict: `path`, `sentences`, `monotonic`, `reordering` (counts in the gallery),
        `worst` (count).

    Raises:
        NotARunFolder: for a folder without a trained, evaluated run.
    """
    run = RunFolder(run_dir)
    run.check_trained()
    sources, references, _ = run.read_translations()
    cards = sentence_cards(run, sources, references, max(pool, num_sentences))
    gallery = cards[:num_sentences]
    monotonic = [c for c in gallery if c["monotonic"]]
    reordering = sorted((c for c in gallery if not c["monotonic"]), key=lambda c: c["tau"])
    worst = sorted(cards, key=lambda c: c["chrf"])[:num_worst]
    add_images(gallery + worst)  # only the cards shown: drawing is most of the page's time
    config = run.read_config()
    metrics = run.read_metrics()
    name = html.escape(os.path.basename(os.path.abspath(run.path)))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>keras_seq run report: {name}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Run report: {html.escape(os.path.abspath(run.path))}</h1>",
    ]
    scores = [(label, number(metrics[k])) for k, label in SCORES if k in metrics]
    if scores:
        parts += ["<h2>Scores</h2>", key_values(scores)]
    parts += [
        "<h2>Settings</h2>",
        key_values([(k, number(config[k])) for k in SETTINGS if k in config]),
    ]
    exports = export_rows(run)
    if exports:
        parts += ["<h2>Exports</h2>", key_values(exports)]
    if os.path.exists(run[RunFolder.CURVES]):
        with open(run[RunFolder.CURVES], "rb") as f:
            curves = f.read()
        parts += [
            "<h2>Learning curves</h2>",
            f'<img alt="learning curves" src="{data_uri(curves)}">',
        ]
    parts += [
        "<h2>Attention</h2>",
        "<p>Greedy translations of the first test sentences. Each heat map shows where the "
        "decoder looks (columns: source subwords) while writing each output subword (rows). "
        "An alignment is <i>monotonic</i> when tau, the rank correlation between the output "
        "order and the source token each output token attends to most (pairs on the same "
        f"source token left out), is at least {MONOTONIC_TAU}; otherwise it "
        "<i>reorders</i>. Entropy is the mean per-token attention entropy (0: sharp).</p>",
        f'<h3 id="reordering">Reordering alignments ({len(reordering)}), most reordered first</h3>',
        '<div class="cards">' + "".join(map(card_html, reordering)) + "</div>",
        f'<h3 id="monotonic">Monotonic alignments ({len(monotonic)})</h3>',
        '<div class="cards">' + "".join(map(card_html, monotonic)) + "</div>",
        f'<h2 id="worst">The {len(worst)} worst translations of the first {len(cards)} '
        "test sentences, by sentence chrF</h2>",
        '<div class="cards">' + "".join(map(card_html, worst)) + "</div>",
        "</body></html>",
    ]
    with run.writing(REPORT) as temporary, open(temporary, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    return {
        "path": run[REPORT],
        "sentences": len(gallery),
        "monotonic": len(monotonic),
        "reordering": len(reordering),
        "worst": len(worst),
    }
