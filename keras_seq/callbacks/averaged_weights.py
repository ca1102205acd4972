"""The optimizer's moving average of the weights, scored and kept instead of the weights."""

import keras


class AveragedWeights(keras.callbacks.SwapEMAWeights):
    """Validates, checkpoints and ends training with the weights' moving average.

    For a model compiled with an optimizer that keeps one (`use_ema=True`; in
    keras_seq `compile_seq2seq(ema_momentum=...)`, or `ks.optimizers`' Adam and
    Nadam, whose average is bias-corrected): Polyak averaging of the
    weights, which a run too short to anneal fully profits from. Keras'
    `SwapEMAWeights(swap_on_epoch=True)` puts the average into the model at each
    epoch's end (training then goes on from the raw weights it keeps in the
    optimizer's average slots), so the validation loss and BLEU, the best and the
    per-epoch checkpoints, early stopping and the backup all see the average.
    This subclass also makes such a run resumable and ends it with the average:

    - a resumed run's weights are those of an epoch's end, so the average: the
      first epoch of a resumed `fit` swaps the raw weights back first, as the
      uninterrupted run did (Keras' callback, new in each process, would
      train on from the average);
    - `fit` ends by copying the optimizer's average slots into the model,
      which at that point hold the raw weights; `on_train_end` puts the last
      epoch's average back (early stopping, after it in the list, may then
      restore a better epoch's average).

    Put it first among the callbacks, before those that score or save an epoch.
    """

    def __init__(self):
        super().__init__(swap_on_epoch=True)
        self._ema_weights_in_model = None
        self._average = None

    def on_train_begin(self, logs=None):
        self._ema_weights_in_model = None
        self._average = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._ema_weights_in_model is None:
            # A resumed fit starts from an epoch's end: the model holds the average.
            self._ema_weights_in_model = epoch > 0
        super().on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
        self._average = [v.numpy() for v in self.model.trainable_variables]

    def on_train_end(self, logs=None):
        if self._average is not None:
            for variable, value in zip(self.model.trainable_variables, self._average, strict=True):
                variable.assign(value)
