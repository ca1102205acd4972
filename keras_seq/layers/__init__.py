"""Public layers of keras_seq."""

from keras_seq.layers.attention_decoder import AttentionDecoder
from keras_seq.layers.bahdanau_attention import BahdanauAttention
from keras_seq.layers.bidirectional import Bidirectional
from keras_seq.layers.bridge import Bridge
from keras_seq.layers.luong_attention import LuongAttention
from keras_seq.layers.rnn_encoder import RNNEncoder

__all__ = [
    "AttentionDecoder",
    "BahdanauAttention",
    "Bidirectional",
    "Bridge",
    "LuongAttention",
    "RNNEncoder",
]
