"""`val_bleu`: greedy sacreBLEU of a fixed validation subset after every epoch."""

import keras

from keras_seq import evaluation


class ValidationBLEU(keras.callbacks.Callback):
    """Greedy sacreBLEU of a fixed validation subset, every epoch, as `val_bleu`.

    Decodes the first `num_pairs` validation pairs (batched, in one traced
    graph) at the end of each epoch and adds `val_bleu` to the epoch's logs,
    where `CSVLogger`, `TensorBoard`, `EarlyStopping(monitor="val_bleu",
    mode="max")` and `ModelCheckpoint` see it: put it before them.

    Args:
        pairs: validation `(source, target)` texts.
        source_tokenizer, target_tokenizer: the model's `SubwordTokenizer`s.
        max_source_length, max_length: decoding limits, in tokens.
        num_pairs: how many of `pairs` to decode (the same ones each epoch).
        batch_size: sentences per decoded batch.
    """

    def __init__(
        self,
        pairs,
        source_tokenizer,
        target_tokenizer,
        max_source_length,
        max_length,
        num_pairs=500,
        batch_size=128,
    ):
        super().__init__()
        if not pairs:
            raise ValueError("`pairs` is empty: there is nothing to score.")
        self.pairs = list(pairs)[:num_pairs]
        self.tokenizers = (source_tokenizer, target_tokenizer)
        self.lengths = (max_source_length, max_length)
        self.batch_size = batch_size
        self._translator = None

    def on_epoch_end(self, epoch, logs=None):
        if self._translator is None:  # built once: the decode function is traced once
            self._translator = evaluation.TextTranslator(
                self.model,
                [source for source, _ in self.pairs],
                *self.tokenizers,
                *self.lengths,
                batch_size=self.batch_size,
            )
        hypotheses, _ = self._translator()
        references = [target for _, target in self.pairs]
        scores = evaluation.corpus_scores(hypotheses, references, self.tokenizers[1].lowercase)
        if logs is not None:
            logs["val_bleu"] = scores["bleu"]
