"""`val_f1`: entity F1 of the validation sentences after every epoch."""

import keras

from keras_seq import evaluation


class ValidationF1(keras.callbacks.Callback):
    """Entity-level F1 (seqeval) of the validation sentences, every epoch, as `val_f1`.

    Tags the sentences (batched, in one traced graph) at the end of each epoch and
    adds `val_f1` to the epoch's logs, where `CSVLogger`, `TensorBoard`,
    `EarlyStopping(monitor="val_f1", mode="max")` and `ModelCheckpoint` see it:
    put it before them.

    Args:
        sentences: validation `(words, tags)` pairs.
        vocabularies: the model's `TagVocabularies`.
        batch_size: sentences per batch.
    """

    def __init__(self, sentences, vocabularies, batch_size=256):
        super().__init__()
        if not sentences:
            raise ValueError("`sentences` is empty: there is nothing to score.")
        self.sentences = list(sentences)
        self.vocabularies = vocabularies
        self.batch_size = batch_size
        self._tagger = None

    def on_epoch_end(self, epoch, logs=None):
        if self._tagger is None:  # built once: the tagging function is traced once
            self._tagger = evaluation.SentenceTagger(
                self.model,
                [words for words, _ in self.sentences],
                self.vocabularies,
                self.batch_size,
            )
        predicted, _ = self._tagger()
        scores = evaluation.entity_scores([tags for _, tags in self.sentences], predicted)
        if logs is not None:
            logs["val_f1"] = scores["f1"]
