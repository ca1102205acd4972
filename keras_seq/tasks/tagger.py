"""The tagging task: a `TaggingModel` backbone and its vocabularies in one object."""

import numpy as np

from keras_seq.data import TagVocabularies
from keras_seq.evaluation import SentenceTagger, entity_scores, entity_spans
from keras_seq.export import TaggerModule, export_tagger
from keras_seq.models.tagger import DEFAULT_MAX_WORDS, TaggingModel
from keras_seq.tasks.preset import TagRunFolder
from keras_seq.training import average_kept_epochs, fit


class Tagger:
    """A named-entity (or any IOB2) tagger you hold from training to entities out to export.

    The keras-hub `Task` of tagging: a `backbone` (the `build_tagger` model), a
    `preprocessor` (the `ks.data.TagVocabularies` it was trained with) and the
    words per sentence of its TFLite export. `tag` turns sentences into entities,
    `score` gives the entity F1 of tagged sentences, `export` writes the SavedModel
    and TFLite models, and `save_to_preset` / `Tagger.from_preset` write and load a
    run folder (see `keras_seq.tasks.preset`).

    Args:
        backbone: a `ks.models.build_tagger` model.
        preprocessor: its `ks.data.TagVocabularies`.
        max_words: words per sentence of the exported TFLite model.

    Example:
    ```python
    tagger = ks.Tagger.from_preset("runs/ner")
    tagger.tag("Ana vive en Madrid")
    # [{"type": "PER", "start": 0, "end": 1, "text": "Ana", "score": 0.98}]
    ```
    """

    def __init__(self, backbone, preprocessor, max_words=DEFAULT_MAX_WORDS):
        if not isinstance(backbone, TaggingModel):
            raise ValueError(
                f"`backbone` must be a ks.models.build_tagger model. Received: {backbone!r}"
            )
        if not isinstance(preprocessor, TagVocabularies):
            raise ValueError(
                f"`preprocessor` must be a ks.data.TagVocabularies. Received: {preprocessor!r}"
            )
        num_tags = backbone.output["potentials"].shape[-1]
        if num_tags != len(preprocessor.tags):
            raise ValueError(
                f"The backbone scores {num_tags} tags but the preprocessor has "
                f"{len(preprocessor.tags)} ({preprocessor.tags}): they must be the same."
            )
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.max_words = max_words
        self.preset_dir = None  # set by from_preset / save_to_preset

    def __repr__(self):
        return (
            f"Tagger({self.backbone.name}, {len(self.preprocessor.words)} words, "
            f"tags {self.preprocessor.output_tags})"
        )

    # ------------------------------------------------------------------ training
    def fit(self, x, validation_data=None, **fit_options):
        """Trains the backbone (`keras.Model.fit`, under any strategy: `ks.training.fit`)
        on `ks.data.tagging_dataset` batches."""
        return fit(self.backbone, x, validation_data=validation_data, **fit_options)

    def average_epochs(self, run_dir, sentences):
        """Checkpoint averaging of the epochs `standard_callbacks(keep_epochs=N)` kept in
        `run_dir`: the best tail's mean (`ks.training.average_best_tail`), kept only
        when it raises the entity F1 (`score`) of `sentences` (validation
        `(words, tags)` pairs); the kept epochs' files are deleted after.

        Returns:
            None with fewer than two epochs kept, else a dict: `epochs` (the best
            tail's numbers), `val_f1_average`, `val_f1_best_epoch` (the weights before),
            `kept` (`"average"` or `"best"`), `tails` (each tail's F1 by its first epoch).
        """
        result = average_kept_epochs(self.backbone, run_dir, lambda: self.score(sentences)["f1"])
        if result is None:
            return None
        return {
            "epochs": result["epochs"],
            "val_f1_average": result["average"],
            "val_f1_best_epoch": result["best"],
            "kept": result["kept"],
            "tails": result["tails"],
        }

    # ------------------------------------------------------------------ text out
    @staticmethod
    def _words(sentences):
        single = isinstance(sentences, str)
        if not single and (isinstance(sentences, bytes) or not hasattr(sentences, "__iter__")):
            raise ValueError(
                "`sentences` must be a string or a list of sentences (strings or lists of "
                f"words). Received: {sentences!r}"
            )
        words = []
        for i, sentence in enumerate([sentences] if single else list(sentences)):
            if isinstance(sentence, str):
                words.append(sentence.split())
            elif isinstance(sentence, (list, tuple)) and all(isinstance(w, str) for w in sentence):
                words.append(list(sentence))
            else:
                raise ValueError(
                    f"A sentence is a string or a list of words; sentence {i} is {sentence!r}."
                )
        return single, words

    def tag(self, sentences, batch_size=256):
        """The entities of sentences: a list of dicts per sentence.

        Args:
            sentences: a string (one sentence, split on whitespace), or a list of
                sentences, each a string or a list of words.
            batch_size: sentences tagged together.

        Returns:
            For each sentence (for a string, just its list), its entities in
            order: `{"type", "start", "end", "text", "score"}`, where `start` and
            `end` are word indices (`end` exclusive), `text` the words joined by
            spaces and `score` the mean probability of the entity's tags. A blank
            sentence has none.
        """
        single, words = self._words(sentences)
        tags, scores = SentenceTagger(self.backbone, words, self.preprocessor, batch_size)()
        entities = [
            [
                {
                    "type": kind,
                    "start": start,
                    "end": end,
                    "text": " ".join(sentence[start:end]),
                    "score": float(np.mean(probabilities[start:end])),
                }
                for kind, start, end in entity_spans(sentence_tags)
            ]
            for sentence, sentence_tags, probabilities in zip(words, tags, scores, strict=True)
        ]
        return entities[0] if single else entities

    def score(self, sentences, batch_size=256):
        """Entity-level scores of tagged sentences, as `conlleval` counts them (seqeval).

        Args:
            sentences: `(words, tags)` pairs, each a list of strings (IOB2 tags).
            batch_size: sentences tagged together.

        Returns:
            dict: `f1`, `precision`, `recall` (percent, micro-averaged over entities),
            `accuracy` (of tags) and `per_type` (each type's `f1`, `precision`, `recall`,
            `support`).
        """
        words = [list(w) for w, _ in sentences]
        predicted, _ = SentenceTagger(self.backbone, words, self.preprocessor, batch_size)()
        return entity_scores([list(t) for _, t in sentences], predicted)

    # -------------------------------------------------------------------- export
    def module(self, max_words=None):
        """The exportable `ks.export.TaggerModule` of this tagger."""
        return TaggerModule(self.backbone, self.preprocessor, max_words or self.max_words)

    def export(self, directory, tflite=True, quantizations=None):
        """Writes `directory/saved_model/` (text in, words/tags/scores out) and
        `directory/tflite/tagger*.tflite` (builtins only, `max_words` words).

        Returns:
            dict: `saved_model` (path) and `tflite` (file name -> path).
        """
        return export_tagger(self.module(), directory, tflite, quantizations)

    # ------------------------------------------------------------------- presets
    def save_to_preset(self, directory):
        """Writes the tagger as a preset (run folder): `model.keras`, `vocab/`, and
        `max_words` in `config.json` (other keys kept). Each file is written atomically."""
        run = TagRunFolder(directory)
        self.preprocessor.save(run[run.VOCAB])
        with run.writing(run.MODEL) as temporary:
            self.backbone.save(temporary)
        run.update_config(max_words=self.max_words)
        self.preset_dir = run.path
        return run.path

    @classmethod
    def from_preset(cls, directory, compile=True):
        """Loads a tagger from a `recipes/tag.py` run folder or a `save_to_preset` folder.

        Raises:
            keras_seq.tasks.NotARunFolder: naming what is missing or damaged.
        """
        run = TagRunFolder(directory)
        run.check_trained()
        config = run.read_config()
        backbone = run.load_model(compile=compile)
        if not isinstance(backbone, TaggingModel):
            raise ValueError(
                f"{run[run.MODEL]} holds a {type(backbone).__name__}, not a tagging model."
            )
        tagger = cls(
            backbone,
            TagVocabularies.load(run[run.VOCAB]),
            config.get("max_words", DEFAULT_MAX_WORDS),
        )
        tagger.preset_dir = run.path
        return tagger
