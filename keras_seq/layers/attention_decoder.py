"""Recurrent decoder with attention, teacher forcing and scheduled sampling."""

import warnings

import keras
from keras import ops

from keras_seq.checks import check_choice, check_positive_int, check_rate
from keras_seq.layers._attention_styles import (
    attend_after_cell,
    attend_after_fused_rnn,
    attend_before_cell,
)
from keras_seq.layers._common import check_cell, embed, make_rnn, num_cell_states
from keras_seq.layers._scheduled_sampling import (
    SAMPLINGS,
    SCHEDULED_SAMPLINGS,
    loop_sequence,
    parallel_sequence,
)
from keras_seq.layers.bahdanau_attention import BahdanauAttention
from keras_seq.layers.luong_attention import LuongAttention
from keras_seq.layers.multi_head_attention import MultiHeadAttention
from keras_seq.layers.tied_output import TiedOutput
from keras_seq.layers.word_dropout import make_word_dropout
from keras_seq.utils import in_xla_context

ATTENTIONS = (
    "bahdanau",
    "luong_dot",
    "luong_general",
    "luong_concat",
    "luong_scaled_dot",
    "multihead",
)


@keras.saving.register_keras_serializable(package="keras_seq")
class AttentionDecoder(keras.layers.Layer):
    """An LSTM/GRU/simple-RNN decoder attending over an encoder memory.

    Two styles, one layer, any attention score:
    - attention before the cell (Bahdanau style, the default of
      `attention="bahdanau"`). At step `t` the previous top hidden state queries
      the memory; the context is fed to the cell with the embedding; logits come
      from `[h_t; context_t]`.
    - attention after the cell (Luong style, the default of `"luong_*"` and
      `"multihead"`). The top hidden state `h_t` queries the memory;
      `a_t = tanh(W [context_t; h_t])` gives the logits. With
      `input_feeding=True`, `a_{t-1}` is fed to the cell with the embedding.

    The memory, its mask and its attention keys (the memory projection, computed
    once per source sentence) travel inside the decoder state, so decoding
    strategies can tile and reorder them like any other state.

    Teacher forcing (`call`): when the attention does not feed the cell (Luong
    without input feeding) and no scheduled sampling is active, the RNN runs over
    the whole target sequence in one fused call (cuDNN-eligible on GPU).
    Otherwise a graph `while_loop` runs `step` over the positions.

    Scheduled sampling (Bengio et al., 2015): in training, each target position
    after the first independently takes the model's own previous prediction with
    probability `sampling_probability` (a non-trainable float32 scalar variable,
    0 = teacher forcing; `ks.callbacks.ScheduledSampling` drives it in `fit`),
    chosen by argmax (`sampling="argmax"`) or drawn from the predicted
    distribution (`sampling="sample"`), in a loop over steps or in two parallel
    passes (`scheduled_sampling`). Draws are stateless, keyed by a seed taken
    once per batch, so training compiles with XLA (`jit_compile=True`).

    Args:
        vocab_size: positive int, target vocabulary size.
        embedding_dim: positive int.
        units: positive int, units of each decoder RNN layer.
        attention: one of `"bahdanau"` (`BahdanauAttention`), `"luong_dot"`,
            `"luong_general"`, `"luong_concat"`, `"luong_scaled_dot"`
            (`LuongAttention`) or `"multihead"` (`MultiHeadAttention`).
        cell: `"lstm"`, `"gru"` or `"rnn"` (a simple tanh RNN).
        num_layers: positive int, stacked RNN layers.
        dropout: float in [0, 1), on embeddings, between layers and before the
            output projection.
        attention_units: width of the additive scoring layer (`"bahdanau"`,
            `"luong_concat"`, default `units`), or of each head
            (`"multihead"`, default `memory_dim // num_heads`).
        num_heads: positive int, heads of `"multihead"` attention. Defaults to 4.
        attend_before_cell: bool, the style: True = Bahdanau style, False = Luong
            style; None (default) = the style of the attention's paper (True for
            `"bahdanau"` only).
        input_feeding: bool, Luong style only: feed the previous attentional
            vector to the cell.
        sampling: `"argmax"` or `"sample"`, how scheduled sampling picks the
            model's own token.
        scheduled_sampling: `"loop"` (a loop over `step`, each own token from the
            loop's previous step) or `"parallel"` (two teacher-forced passes,
            Duckworth et al., 2019: the first pass's predictions, shifted, replace
            gold tokens for the second; Luong-style decoders keep the fused RNN).
        seed: optional int seed of scheduled sampling's random draws.
        tie_embeddings: bool, the output projection shares the target embedding's
            matrix (`TiedOutput`: the feature is first projected to
            `embedding_dim` when its width differs).
        word_dropout: float in [0, 1), the probability of dropping a whole
            previous-token embedding in training (`WordDropout`). Defaults to 0.
        **kwargs: base layer keyword arguments.

    Call arguments:
        target_ids: int tensor `(batch_size, target_length)`, starting with the
            start id.
        memory: float tensor `(batch_size, source_length, memory_dim)`.
        memory_mask: optional bool tensor `(batch_size, source_length)`.
        encoder_state: optional list (one per layer) of lists of
            `(batch_size, units)` tensors (`[h, c]` for LSTM, `[h]` for GRU);
            None = zero initial state.
        training: Python bool.

    Returns:
        Logits `(batch_size, target_length, vocab_size)` in the compute dtype.

    Raises:
        ValueError: for an unknown attention, cell or sampling name, a
            non-positive size, or non-integer `target_ids`.

    Example:
    >>> decoder = AttentionDecoder(vocab_size=10, embedding_dim=4, units=6)
    >>> logits = decoder(ops.ones((2, 3), "int32"), ops.ones((2, 5, 6)))
    >>> tuple(logits.shape)
    (2, 3, 10)

    Reference:
        - [Bahdanau et al., 2015](https://arxiv.org/abs/1409.0473)
        - [Luong et al., 2015](https://arxiv.org/abs/1508.04025)
        - [Bengio et al., 2015](https://arxiv.org/abs/1506.03099)
        - [Duckworth et al., 2019](https://arxiv.org/abs/1906.04331)
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim,
        units,
        attention="bahdanau",
        cell="lstm",
        num_layers=1,
        dropout=0.0,
        attention_units=None,
        num_heads=4,
        attend_before_cell=None,
        input_feeding=False,
        sampling="argmax",
        scheduled_sampling="loop",
        seed=None,
        tie_embeddings=False,
        word_dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("vocab_size", vocab_size),
            ("embedding_dim", embedding_dim),
            ("units", units),
            ("num_layers", num_layers),
        ):
            check_positive_int(name, value)
        check_choice("attention", attention, ATTENTIONS)
        check_cell(cell)
        check_rate("dropout", dropout)
        if attention_units is not None:
            check_positive_int("attention_units", attention_units)
        check_positive_int("num_heads", num_heads)
        if attend_before_cell is None:
            attend_before_cell = attention == "bahdanau"
            if attend_before_cell and input_feeding:  # a config of keras_seq 0.1 ignored it
                warnings.warn(
                    "input_feeding=True has no effect with attention='bahdanau' (its context "
                    "already feeds the cell); it is ignored.",
                    UserWarning,
                    stacklevel=2,
                )
                input_feeding = False
        if not isinstance(attend_before_cell, bool):
            raise ValueError(
                "`attend_before_cell` must be True, False or None. "
                f"Received: attend_before_cell={attend_before_cell!r}"
            )
        if attend_before_cell and input_feeding:
            raise ValueError(
                "`input_feeding` applies to attention after the cell (Luong style); with "
                "attend_before_cell=True the context already feeds the cell. Received: "
                "attend_before_cell=True, input_feeding=True"
            )
        check_choice("sampling", sampling, SAMPLINGS)
        check_choice("scheduled_sampling", scheduled_sampling, SCHEDULED_SAMPLINGS)
        if not isinstance(tie_embeddings, bool):
            raise ValueError(
                "`tie_embeddings` must be True or False. "
                f"Received: tie_embeddings={tie_embeddings!r}"
            )
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.attention = attention
        self.cell = cell
        self.num_layers = num_layers
        self.dropout = dropout
        self.attention_units = attention_units
        self.num_heads = num_heads
        self.attend_before_cell = attend_before_cell
        self.input_feeding = input_feeding
        self.sampling = sampling
        self.scheduled_sampling = scheduled_sampling
        self.seed = seed
        self.tie_embeddings = tie_embeddings
        self.num_states = num_cell_states(cell)
        self.feeds_cell = attend_before_cell or input_feeding
        # False only for a `ForecastDecoder` without attention: the context stays zero.
        self.uses_attention = True
        # Heads whose weights the state records apart (`head_weights`); 0 = one map only.
        self.num_attention_heads = num_heads if attention == "multihead" else 0

        policy = self.dtype_policy
        self.embedding = self._input_layer()
        self.rnn_layers = [make_rnn(cell, units, policy, f"{cell}_{i}") for i in range(num_layers)]
        if attention == "bahdanau":
            self.attention_layer = BahdanauAttention(
                attention_units or units, dtype=policy, name="attention"
            )
        elif attention == "multihead":
            self.attention_layer = MultiHeadAttention(
                num_heads, key_dim=attention_units, dtype=policy, name="attention"
            )
        else:
            self.attention_layer = LuongAttention(
                attention.removeprefix("luong_"),
                units=attention_units,
                dtype=policy,
                name="attention",
            )
        self.attentional_dense = None
        if not attend_before_cell:
            self.attentional_dense = keras.layers.Dense(
                units, activation="tanh", use_bias=False, dtype=policy, name="attentional_dense"
            )
        if tie_embeddings:
            self.output_dense = TiedOutput(self.embedding, dtype=policy, name="output_dense")
        else:
            self.output_dense = keras.layers.Dense(vocab_size, dtype=policy, name="output_dense")
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=policy)
        self.word_dropout = word_dropout
        self.word_dropout_layer = make_word_dropout(word_dropout, policy)
        self.sampling_probability = self.add_weight(
            shape=(),
            dtype="float32",
            initializer="zeros",
            trainable=False,
            autocast=False,
            name="sampling_probability",
        )
        self.seed_generator = keras.random.SeedGenerator(seed, name="sampling_seed")

    def _input_layer(self):
        """What turns a step's input into the cell's input: the target embedding."""
        return keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, dtype=self.dtype_policy, name="embedding"
        )

    def build(self, target_ids_shape, memory_shape, encoder_state_shape=None):
        memory_dim = memory_shape[-1]
        self.embedding.build(target_ids_shape)
        width = self.embedding_dim
        if self.attend_before_cell:
            width += memory_dim
        elif self.input_feeding:
            width += self.units
        for rnn in self.rnn_layers:
            rnn.build((None, None, width))
            width = self.units
        self.attention_layer.build((None, None, self.units), memory_shape)
        if self.attend_before_cell:
            self.feature_dim = self.units + memory_dim
        else:
            self.attentional_dense.build((None, memory_dim + self.units))
            self.feature_dim = self.units
        self.output_dense.build((None, self.feature_dim))
        self.built = True

    # ------------------------------------------------------------------ state
    def initial_state(self, memory, memory_mask=None, encoder_state=None):
        """The decoder state before the first step.

        Args:
            memory: `(batch_size, source_length, memory_dim)`.
            memory_mask: optional bool `(batch_size, source_length)`.
            encoder_state: optional list (one per layer) of lists of
                `(batch_size, units)` tensors; None = zeros.

        Returns:
            A dict nest of batch-major tensors: `cell` (per-layer states),
            `memory`, `memory_mask`, `keys` (the attention's memory projection),
            `attention_weights` (float32 `(batch_size, source_length)`, of the
            last step; the mean over heads of a multi-head attention), with a
            multi-head attention `head_weights` (float32 `(batch_size, num_heads,
            source_length)`) and, with input feeding, `attentional`.
        """
        memory = ops.cast(memory, self.compute_dtype)
        batch_size, source_length = ops.shape(memory)[0], ops.shape(memory)[1]
        if memory_mask is None:
            memory_mask = ops.ones((batch_size, source_length), dtype="bool")
        memory_mask = ops.cast(memory_mask, "bool")
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        if encoder_state is None:
            cell_states = [[zeros] * self.num_states for _ in range(self.num_layers)]
        else:
            self._check_encoder_state(encoder_state)
            cell_states = [
                [ops.cast(s, self.compute_dtype) for s in layer] for layer in encoder_state
            ]
        state = {
            "cell": cell_states,
            "memory": memory,
            "memory_mask": memory_mask,
            "keys": self.attention_layer.prepare_memory(memory),
            "attention_weights": ops.zeros((batch_size, source_length), dtype="float32"),
        }
        if self.num_attention_heads:
            state["head_weights"] = ops.zeros(
                (batch_size, self.num_attention_heads, source_length), dtype="float32"
            )
        if self.input_feeding:
            state["attentional"] = zeros
        return state

    def _check_encoder_state(self, encoder_state):
        shape_ok = (
            isinstance(encoder_state, (list, tuple)) and len(encoder_state) == self.num_layers
        )
        if shape_ok:
            shape_ok = all(
                isinstance(layer, (list, tuple)) and len(layer) == self.num_states
                for layer in encoder_state
            )
        if not shape_ok:
            raise ValueError(
                f"`encoder_state` must be a list of {self.num_layers} layer state(s), each a "
                f"list of {self.num_states} tensor(s) of shape (batch_size, {self.units}) "
                f"for cell={self.cell!r}. Received: {encoder_state!r}"
            )
        for layer in encoder_state:
            for tensor in layer:
                if tensor.shape[-1] is not None and tensor.shape[-1] != self.units:
                    raise ValueError(
                        f"`encoder_state` tensors must have width units={self.units}. "
                        f"Received shape {tuple(tensor.shape)}."
                    )

    # ------------------------------------------------------------------- step
    def step(self, token_ids, state, training=False):
        """One decoding step.

        Args:
            token_ids: int `(batch_size,)`, the previous tokens.
            state: the nest from `initial_state` or a previous `step`.
            training: Python bool (dropout).

        Returns:
            `(logits, state)`: logits `(batch_size, vocab_size)` and the new state.
        """
        feature, state = self.step_feature(token_ids, state, training)
        return self.output_dense(feature), state

    def step_feature(self, token_ids, state, training=False):
        """One step up to the output projection: `(feature, new_state)`.

        `output_dense(feature)` gives `step`'s logits; a decoder restricted to
        some target ids (`ks.decoding.LexicalShortlist`) multiplies `feature`
        by those columns of `output_dense.kernel` only. `feature` is
        `(batch_size, feature_dim)`.
        """
        embedded = embed(self, token_ids, training)
        attend = attend_before_cell if self.attend_before_cell else attend_after_cell
        feature, state = attend(self, embedded, state, training)
        return self.dropout_layer(feature, training=training), state

    # -------------------------------------------------------- teacher forcing
    def call(self, target_ids, memory, memory_mask=None, encoder_state=None, training=False):
        state = self.initial_state(memory, memory_mask, encoder_state)
        logits, _ = self.decode_sequence(target_ids, state, training=training)
        return logits

    def decode_sequence(self, target_ids, state, training=False, head_weights=False):
        """Teacher-forced (or scheduled-sampling) decoding of a whole sequence.

        Args:
            target_ids: int `(batch_size, target_length)`.
            state: the nest from `initial_state`.
            training: Python bool; scheduled sampling applies only in training.
            head_weights: Python bool, `attention="multihead"` only, not in
                training: return each head's weights instead of their mean.

        Returns:
            `(logits, attention_weights)`: `(batch_size, target_length,
            vocab_size)` and float32 `(batch_size, target_length, source_length)`
            (with `head_weights`, `(batch_size, target_length, num_heads,
            source_length)`).
        """
        if "int" not in str(target_ids.dtype):
            raise ValueError(
                f"`target_ids` must be an integer tensor. Received dtype={target_ids.dtype}"
            )
        if head_weights and (training or not self.num_attention_heads):
            raise ValueError(
                "`head_weights=True` needs attention='multihead' and training=False. "
                f"Received: attention={self.attention!r}, training={training!r}"
            )
        target_ids = ops.cast(target_ids, "int32")
        if not training:
            record = "head_weights" if head_weights else "attention_weights"
            return self._teacher_forced(target_ids, state, training, record)
        seed = self.seed_generator.next()  # once per batch, outside any loop or branch
        sample_with = parallel_sequence if self.scheduled_sampling == "parallel" else loop_sequence
        if (sample_with is loop_sequence and self.feeds_cell) or in_xla_context():
            # The loop runs anyway, or XLA cannot compile loops inside a `cond`: take the
            # sampling path; at probability 0 it mixes nothing in, so it is teacher forcing.
            return sample_with(self, target_ids, state, training, seed)
        return ops.cond(
            self.sampling_probability > 0,
            lambda: sample_with(self, target_ids, state, training, seed),
            lambda: self._teacher_forced(target_ids, state, training),
        )

    def _teacher_forced(self, target_ids, state, training, record="attention_weights"):
        """Plain teacher forcing: the fused RNN when the attention does not feed the cell."""
        if self.feeds_cell:
            return loop_sequence(self, target_ids, state, training, record=record)
        features, recorded = attend_after_fused_rnn(self, target_ids, state, training)
        logits = self.output_dense(self.dropout_layer(features, training=training))
        return logits, recorded[record]

    def compute_output_spec(
        self, target_ids, memory, memory_mask=None, encoder_state=None, training=False
    ):
        return keras.KerasTensor(
            tuple(target_ids.shape) + (self.vocab_size,), dtype=self.compute_dtype
        )

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "attention": self.attention,
            "cell": self.cell,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "attention_units": self.attention_units,
            "num_heads": self.num_heads,
            "attend_before_cell": self.attend_before_cell,
            "input_feeding": self.input_feeding,
            "sampling": self.sampling,
            "scheduled_sampling": self.scheduled_sampling,
            "seed": self.seed,
            "tie_embeddings": self.tie_embeddings,
            "word_dropout": self.word_dropout,
        }
