"""LSTM and GRU layers that project their whole input sequence before the time loop (private).

Keras's own cells multiply each step's input by the input kernel inside the loop:
per step a `(batch, input_dim) x (input_dim, gates)` matmul, `timesteps` times in the
forward pass and again in the backward pass. These layers compute `x W + b` for all
steps in one `(batch * timesteps, input_dim)` matmul before the loop (as cuDNN does), so
the loop only multiplies the recurrent state. Same weights, same variable paths, same
results as `keras.layers.LSTM` / `GRU` (checkpoints load either way).

Where Keras has a faster path of its own (cuDNN on a GPU) or where the cell needs
per-step work this does not reproduce (input or recurrent dropout, GRU with
`reset_after=False`), the layers run Keras's loop unchanged.
"""

import keras
from keras import ops


def _gpu_available():
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


class _ProjectedRNN:
    """Mixin: `inner_loop` with the input projection taken out of the time loop."""

    def _keras_loop_is_better(self, training):
        if self.cell.dropout or self.cell.recurrent_dropout:
            return True
        return self.use_cudnn in ("auto", True) and _gpu_available()

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if self._keras_loop_is_better(training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        cell = self.cell
        projected = ops.matmul(sequences, cell.kernel)
        if cell.use_bias:
            projected = projected + self._input_bias()
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        return keras.src.backend.rnn(
            self._recurrent_step,
            projected,
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state],
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )


@keras.saving.register_keras_serializable(package="keras_seq")
class ProjectedLSTM(_ProjectedRNN, keras.layers.LSTM):
    """`keras.layers.LSTM` with the input projection outside the time loop."""

    def _input_bias(self):
        return self.cell.bias

    def _recurrent_step(self, z, states):
        cell = self.cell
        h, c = states
        z = z + ops.matmul(h, cell.recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = cell.recurrent_activation(z_i)
        f = cell.recurrent_activation(z_f)
        c = f * c + i * cell.activation(z_c)
        h = cell.recurrent_activation(z_o) * cell.activation(c)
        return h, [h, c]


@keras.saving.register_keras_serializable(package="keras_seq")
class ProjectedGRU(_ProjectedRNN, keras.layers.GRU):
    """`keras.layers.GRU` (`reset_after=True`) with the input projection outside the loop."""

    def _keras_loop_is_better(self, training):
        return not self.cell.reset_after or super()._keras_loop_is_better(training)

    def _input_bias(self):
        return self.cell.bias[0]

    def _recurrent_step(self, x, states):
        cell = self.cell
        h = states[0] if isinstance(states, (list, tuple)) else states
        inner = ops.matmul(h, cell.recurrent_kernel)
        if cell.use_bias:
            inner = inner + cell.bias[1]
        x_z, x_r, x_h = ops.split(x, 3, axis=-1)
        r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
        z = cell.recurrent_activation(x_z + r_z)
        r = cell.recurrent_activation(x_r + r_r)
        hh = cell.activation(x_h + r * r_h)
        h = z * h + (1 - z) * hh
        return h, [h]
