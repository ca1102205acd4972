"""Training that ends within a wall-time budget, at an epoch boundary."""

import time

import keras

from keras_seq.cluster import max_over_workers


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the last epoch that fits in `minutes` of wall time.

    At the end of each epoch (validation and the epoch-end callbacks before it
    included) it adds `train_minutes`, the training time used so far, to the
    epoch's logs, and stops the run when one more epoch as long as the longest
    so far would not fit. `EarlyStopping(restore_best_weights=True)` then
    restores the best epoch, as at the last epoch of a run. Put it after the
    callbacks whose time it should count and before `CSVLogger`, which records
    `train_minutes`.

    A learning-rate schedule that can end sooner (`ks.training.WarmupCosineDecay`,
    the optimizer's) is fitted to the budget: after each epoch, when fewer of the
    planned epochs fit than `fit` was asked for (each taking the mean time of the
    epochs so far, callbacks included, or the longest epoch's if more), the decay
    ends with the last one that fits, and `schedule_epochs` in the logs says after
    how many epochs. Once that epoch has passed the end stays put, so that any more
    epochs that fit train at the floor rather than restart the decay.

    Args:
        minutes: the budget, a positive number.
        spent_minutes: training time an interrupted run used before this `fit`
            (its last `train_minutes`), so that a resumed run keeps one budget.
        schedule_epochs: the epochs an interrupted run had fitted its schedule to
            (its last `schedule_epochs`), or None.

    Attributes:
        stopped_epoch: the epoch after which it stopped training, or None.
    """

    def __init__(self, minutes, spent_minutes=0.0, schedule_epochs=None):
        super().__init__()
        for name, value, positive in (
            ("minutes", minutes, True),
            ("spent_minutes", spent_minutes, False),
        ):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or value < 0 or (positive and value == 0):
                expected = "a positive number" if positive else "a number >= 0"
                raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
        self.minutes = float(minutes)
        self.spent_minutes = float(spent_minutes)
        self.schedule_epochs = schedule_epochs
        self.stopped_epoch = None
        self._longest = 0.0
        self._messages = []

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()
        self.stopped_epoch = None
        self._epochs = 0  # epochs of this `fit`
        schedule = getattr(getattr(self.model, "optimizer", None), "_learning_rate", None)
        self._schedule = schedule if callable(getattr(schedule, "end_at", None)) else None
        self._fit_schedule(self.schedule_epochs)

    def _planned_epochs(self):
        """The epochs `fit` was asked for, when there is a schedule to fit to them."""
        return self._schedule and (self.params or {}).get("epochs")

    def _fit_schedule(self, epochs):
        planned = self._planned_epochs()
        if planned and epochs is not None:
            self._schedule.end_at(epochs / planned)

    def _say(self):
        # Keras' progress bar is the last callback: a line printed in `on_epoch_end` would
        # land on the epoch's bar, so the lines wait for the next epoch or the end.
        for message in self._messages:
            print(message)
        self._messages = []

    def on_epoch_begin(self, epoch, logs=None):
        self._say()
        self._epoch_started = time.perf_counter()

    def on_train_end(self, logs=None):
        self._say()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        # With several workers, the slowest one's times: each decides as the others do.
        epoch_minutes, minutes = max_over_workers(
            [(now - self._epoch_started) / 60, (now - self._started) / 60],
            self.model.distribute_strategy,
        )
        self._longest = max(self._longest, epoch_minutes)
        used = self.spent_minutes + minutes
        self._epochs += 1
        planned = self._planned_epochs()
        if planned:
            # An epoch costs its own time and the callbacks' after it: the mean so far, or
            # the longest epoch if that is more.
            cost = max(self._longest, minutes / self._epochs, 1e-9)
            fit = epoch + 1 + int(max(0.0, self.minutes - used) // cost)
            if fit < planned <= (self.schedule_epochs or planned):  # the first time only
                self._messages.append(
                    f"Time budget: about {fit} of the {planned} planned epochs "
                    "fit; the learning rate decays to its floor by then."
                )
            # Once the decay has ended, it stays ended: a later, longer estimate would
            # raise the rate from its floor again.
            if self.schedule_epochs is None or epoch + 1 < self.schedule_epochs:
                self.schedule_epochs = min(planned, fit)
                self._fit_schedule(self.schedule_epochs)
        if logs is not None:
            logs["train_minutes"] = used
            if self._schedule is not None:
                logs["schedule_epochs"] = self.schedule_epochs
        if used + self._longest > self.minutes:
            self.model.stop_training = True
            self.stopped_epoch = epoch
            self._messages.append(
                f"Time budget: {used:.1f} of {self.minutes:g} minutes used; another epoch "
                f"(about {self._longest:.1f} min) would not fit, so training ends after "
                f"epoch {epoch + 1}."
            )
