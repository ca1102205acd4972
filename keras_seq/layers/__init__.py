"""Public layers of keras_seq, and the names their string options accept."""

from keras_seq.layers._common import CELLS
from keras_seq.layers._scheduled_sampling import SAMPLINGS, SCHEDULED_SAMPLINGS
from keras_seq.layers.attention_decoder import ATTENTIONS, AttentionDecoder
from keras_seq.layers.bahdanau_attention import BahdanauAttention
from keras_seq.layers.bidirectional import Bidirectional
from keras_seq.layers.bridge import BRIDGES, Bridge
from keras_seq.layers.casing import CASINGS, CHARACTER_CLASSES, CasingFeatures, character_classes
from keras_seq.layers.character_encoder import CHARACTER_ENCODERS, CharacterEncoder
from keras_seq.layers.crf import CRF
from keras_seq.layers.forecast_decoder import ForecastDecoder
from keras_seq.layers.luong_attention import SCORES, LuongAttention
from keras_seq.layers.multi_head_attention import MultiHeadAttention
from keras_seq.layers.rnn_encoder import RNNEncoder
from keras_seq.layers.series_encoder import SeriesEncoder
from keras_seq.layers.tied_output import TiedOutput
from keras_seq.layers.transformer import TransformerDecoderStack, TransformerEncoderStack
from keras_seq.layers.word_dropout import WordDropout

__all__ = [
    "ATTENTIONS",
    "BRIDGES",
    "CASINGS",
    "CHARACTER_CLASSES",
    "CHARACTER_ENCODERS",
    "CELLS",
    "SAMPLINGS",
    "SCHEDULED_SAMPLINGS",
    "SCORES",
    "AttentionDecoder",
    "BahdanauAttention",
    "Bidirectional",
    "Bridge",
    "CasingFeatures",
    "CharacterEncoder",
    "CRF",
    "ForecastDecoder",
    "LuongAttention",
    "MultiHeadAttention",
    "RNNEncoder",
    "SeriesEncoder",
    "TiedOutput",
    "TransformerDecoderStack",
    "TransformerEncoderStack",
    "WordDropout",
    "character_classes",
]
