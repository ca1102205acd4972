"""Attention heat maps of a few sentences in TensorBoard, every epoch."""

import io

import keras
import tensorflow as tf

from keras_seq import evaluation, plots


class AttentionImages(keras.callbacks.Callback):
    """Heat maps of a few sentences' attention, logged to TensorBoard every epoch.

    Translates `texts` greedily at the end of each epoch and writes each heat map
    (`keras_seq.plots.plot_attention`: source subwords across, output subwords down) as
    `tf.summary.image` `attention/<i>` under `log_dir`, so that TensorBoard's
    Images tab shows how attention sharpens during training (drag the step slider).

    Args:
        texts: source sentences (a handful: each is decoded and drawn every epoch).
        source_tokenizer, target_tokenizer: the model's `SubwordTokenizer`s.
        max_source_length, max_length: decoding limits, in tokens.
        log_dir: the summary folder (e.g. `RUN/logs/attention`).
    """

    def __init__(
        self, texts, source_tokenizer, target_tokenizer, max_source_length, max_length, log_dir
    ):
        super().__init__()
        self.texts = [t for t in texts if t.strip()]
        if not self.texts:
            raise ValueError(f"`texts` holds no sentence to draw. Received: {texts!r}")
        self.arguments = (source_tokenizer, target_tokenizer, max_source_length, max_length)
        self.log_dir = log_dir
        self._writer = None
        self._maps = None

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:  # built once: the decode function is traced once
            self._writer = tf.summary.create_file_writer(self.log_dir)
            self._maps = evaluation.AttentionMaps(self.model, self.texts, *self.arguments)
        _, maps = self._maps()
        with self._writer.as_default(step=epoch):
            for i, (source, target, weights) in enumerate(maps):
                buffer = io.BytesIO()
                plots.plot_attention(source, target, weights, buffer, title=self.texts[i])
                image = tf.image.decode_png(buffer.getvalue(), channels=4)
                tf.summary.image(f"attention/{i}", image[None], description=self.texts[i])
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
