"""Keras callbacks of keras_seq."""

import json
import os
import time
import warnings

import keras
import numpy as np

from keras_seq import evaluation, schedules
from keras_seq.layers import AttentionDecoder


def attention_decoders(model):
    """Every `AttentionDecoder` inside `model` (nested models and layers included)."""
    return [layer for layer in model._flatten_layers() if isinstance(layer, AttentionDecoder)]


class ScheduledSampling(keras.callbacks.Callback):
    """Drives every decoder's `sampling_probability` by a schedule during `fit`.

    Before each training batch (`per="step"`, counted by the optimizer's
    `iterations`) or each epoch (`per="epoch"`), every `AttentionDecoder` of the
    model gets `schedule(i)`. The probability is a variable, so the train step
    is traced once whatever its value. The value in force is added to each
    epoch's logs as `sampling_probability` (so `CSVLogger` and `TensorBoard`
    record it: put this callback before them). A run resumed by
    `BackupAndRestore` continues at the right value: the optimizer's step count
    and the epoch are restored with it.

    Args:
        schedule: a `keras_seq.schedules` object, its config, or a number
            (a constant probability).

    Raises:
        ValueError: at the start of training, if the model has no `AttentionDecoder`.

    Example:
    >>> model.fit(data, epochs=10, callbacks=[
    ...     ks.callbacks.ScheduledSampling(ks.schedules.InverseSigmoid(k=500))])
    """

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedules.get(schedule)
        self.decoders = []
        self.value = None

    def on_train_begin(self, logs=None):
        self.decoders = attention_decoders(self.model)
        self.value = None  # a new fit (or model): assign whatever the value
        if not self.decoders:
            raise ValueError(
                "ScheduledSampling needs a model with an AttentionDecoder layer. "
                f"Received a model whose layers are {[layer.name for layer in self.model.layers]}."
            )
        if self.schedule.per == "step":
            self._apply(int(self.model.optimizer.iterations.numpy()))

    def on_epoch_begin(self, epoch, logs=None):
        if self.schedule.per == "epoch":
            self._apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.schedule.per == "step":
            self._apply(int(self.model.optimizer.iterations.numpy()))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.value is not None:
            logs["sampling_probability"] = self.value

    def _apply(self, i):
        value = float(self.schedule(i))
        if value != self.value:
            for decoder in self.decoders:
                decoder.sampling_probability.assign(value)
            self.value = value


class SamplingProbabilityLogger(keras.callbacks.Callback):
    """Adds the first decoder's `sampling_probability` to each epoch's logs.

    For runs without a schedule (the probability as set by hand); put it before
    `CSVLogger` and `TensorBoard`.
    """

    def on_epoch_end(self, epoch, logs=None):
        decoders = attention_decoders(self.model)
        if logs is not None and decoders:
            logs["sampling_probability"] = float(decoders[0].sampling_probability.numpy())


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
        scores = evaluation.corpus_scores(hypotheses, [target for _, target in self.pairs])
        if logs is not None:
            logs["val_bleu"] = scores["bleu"]


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


class AttentionImages(keras.callbacks.Callback):
    """Heat maps of a few sentences' attention, logged to TensorBoard every epoch.

    Translates `texts` greedily at the end of each epoch and writes each heat map
    (`evaluation.plot_attention`: source subwords across, output subwords down) as
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
        import io

        import tensorflow as tf

        if self._writer is None:  # built once: the decode function is traced once
            self._writer = tf.summary.create_file_writer(self.log_dir)
            self._maps = evaluation.AttentionMaps(self.model, self.texts, *self.arguments)
        _, maps = self._maps()
        with self._writer.as_default(step=epoch):
            for i, (source, target, weights) in enumerate(maps):
                buffer = io.BytesIO()
                evaluation.plot_attention(source, target, weights, buffer, title=self.texts[i])
                image = tf.image.decode_png(buffer.getvalue(), channels=4)
                tf.summary.image(f"attention/{i}", image[None], description=self.texts[i])
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TrainingTimer(keras.callbacks.Callback):
    """Wall time of the training batches alone: validation and epoch-end work excluded.

    Each epoch is timed from its start to the start of validation (or to its
    end without validation). Read `seconds` (the total) and `epoch_seconds`
    after `fit`; with the pipeline's token count they give a training-step
    throughput that does not depend on the size of the validation set.
    """

    def __init__(self):
        super().__init__()
        self.epoch_seconds = []
        self._started = None

    @property
    def seconds(self):
        return sum(self.epoch_seconds)

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def _stop(self):
        if self._started is not None:
            self.epoch_seconds.append(time.perf_counter() - self._started)
            self._started = None

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()


# What each kind of watched callback carries from one epoch to the next.
_PROGRESS = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "best_weights"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


class EpochCheckpoints(keras.callbacks.Callback):
    """Keeps the weights of the last `keep` epochs, for checkpoint averaging.

    Writes `directory/epoch-NNN.weights.h5` (NNN counts from 1) at the end of
    each epoch, atomically, and removes older ones; an interrupted run resumed
    with `BackupAndRestore` finds the files of its earlier epochs where it left
    them. `keras_seq.training.average_checkpoints` averages them.

    Args:
        directory: the folder of the files.
        keep: how many epochs to keep (at least 1).
    """

    PATTERN = "epoch-{:03d}.weights.h5"

    def __init__(self, directory, keep):
        super().__init__()
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"`keep` must be a positive integer. Received: {keep!r}")
        self.directory = directory
        self.keep = keep

    @classmethod
    def epoch_of(cls, path):
        """The epoch (from 1) whose weights `path` holds."""
        return int(os.path.basename(path).split("-")[1].split(".")[0])

    @classmethod
    def paths(cls, directory):
        """The checkpoint files in `directory`, oldest first."""
        if not os.path.isdir(directory):
            return []
        names = sorted(
            n for n in os.listdir(directory) if n.startswith("epoch-") and ".tmp" not in n
        )
        return [os.path.join(directory, n) for n in names]

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, self.PATTERN.format(epoch + 1))
        temporary = path.replace(".weights.h5", ".tmp.weights.h5")
        self.model.save_weights(temporary)
        os.replace(temporary, path)
        for old in self.paths(self.directory)[: -self.keep]:
            os.remove(old)


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, with what an exact resume also needs.

    Keras backs up the weights, the optimizer and the epoch. A resumed run then
    draws other dropout masks (the layers' random-seed states are not in the
    weights file) and forgets how far early stopping and the best checkpoint
    had got: it would stop late and keep a worse "best". This callback also
    backs up, at the end of each epoch, the model's random-seed states and the
    progress of the `watch`ed callbacks (`EarlyStopping`: patience used, best
    value, best epoch and weights; `ModelCheckpoint`: best value), and restores
    them. With an epoch-keyed data order (`keras_seq.data.EpochShuffle`), a run
    killed at any point and resumed ends with the weights of an uninterrupted
    run.

    Put it after the callbacks it watches, so that it saves their state after
    they have seen the epoch.

    Args:
        backup_dir: the folder of the backup (removed when training ends).
        watch: `EarlyStopping` and `ModelCheckpoint` callbacks of the same `fit`.
        save_freq: `"epoch"` only: Keras restarts a resumed epoch from its first
            batch, so a backup taken within an epoch cannot resume exactly.
        **kwargs: Keras' `double_checkpoint` and `delete_checkpoint`.

    Raises:
        ValueError: for another `save_freq` or a callback it cannot watch.
    """

    def __init__(self, backup_dir, watch=(), save_freq="epoch", **kwargs):
        if save_freq != "epoch":
            raise ValueError(
                "keras_seq's `BackupAndRestore` backs up at the end of each epoch only "
                f"(Keras restarts a resumed epoch from its first batch). Received: "
                f"save_freq={save_freq!r}"
            )
        super().__init__(backup_dir, save_freq=save_freq, **kwargs)
        for callback in watch:
            if not isinstance(callback, tuple(_PROGRESS)):
                raise ValueError(
                    "`watch` takes EarlyStopping and ModelCheckpoint callbacks. "
                    f"Received: {callback!r}"
                )
        self.watch = list(watch)
        self._state_path = os.path.join(backup_dir, "progress.npz")
        self._pending = None

    def _random_state(self):
        weights = {id(v) for v in self.model.weights}
        return [v for v in self.model.variables if id(v) not in weights]

    def _save_model(self):
        super()._save_model()
        arrays = {f"random/{i}": v.numpy() for i, v in enumerate(self._random_state())}
        scalars = {}
        for i, callback in enumerate(self.watch):
            for name in _PROGRESS[type(callback)]:
                value = getattr(callback, name, None)
                if name == "best_weights":
                    for j, w in enumerate(value or []):
                        arrays[f"watch/{i}/best_weights/{j}"] = np.asarray(w)
                    scalars[f"{i}/{name}"] = None if value is None else len(value)
                else:
                    scalars[f"{i}/{name}"] = None if value is None else float(value)
        arrays["progress"] = np.array(json.dumps({"epoch": self._current_epoch, **scalars}))
        staging = self._state_path + ".tmp.npz"
        np.savez(staging, **arrays)
        os.replace(staging, self._state_path)

    def _load_model(self):
        super()._load_model()
        if not os.path.exists(self._state_path):
            return
        with np.load(self._state_path) as state:
            arrays = dict(state)
        progress = json.loads(str(arrays.pop("progress")))
        if progress.pop("epoch") != self.model._initial_epoch:
            warnings.warn(
                f"{self._state_path} is from another epoch than the backed-up weights "
                "(the run stopped while backing up): resuming without the random state "
                "and the early-stopping progress.",
                stacklevel=2,
            )
            return
        for i, variable in enumerate(self._random_state()):
            variable.assign(arrays[f"random/{i}"])
        self._pending = (progress, arrays)

    def on_epoch_begin(self, epoch, logs=None):
        # After every callback's `on_train_begin`, which resets their progress.
        if self._pending is None:
            return
        progress, arrays = self._pending
        self._pending = None
        for i, callback in enumerate(self.watch):
            for name in _PROGRESS[type(callback)]:
                value = progress[f"{i}/{name}"]
                if name == "best_weights" and value is not None:
                    value = [arrays[f"watch/{i}/best_weights/{j}"] for j in range(value)]
                elif name in ("wait", "best_epoch") and value is not None:
                    value = int(value)
                setattr(callback, name, value)
