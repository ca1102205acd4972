"""Subword tokenizers learned from the training text (SentencePiece), usable in graphs."""

import io
import os
import string

import tensorflow as tf

from keras_seq import files
from keras_seq.special_ids import END_ID, PAD_ID, START_ID, UNK_ID


class SubwordTokenizer:
    """A SentencePiece model with keras_seq's special ids, run by tensorflow-text.

    The model is learned by the `sentencepiece` library and applied by
    `tensorflow_text.SentencepieceTokenizer`, so tokenization and detokenization
    are TensorFlow ops: they run inside `tf.data` pipelines and inside exported
    SavedModel graphs. Special ids: pad 0, start 1, end 2, unknown 3.

    Detokenization round-trips: `detokenize(tokenize(text))` gives the text back,
    after the model's normalisation (NFKC, and case folding when `lowercase`).
    With `split_punctuation`, every ASCII punctuation mark is its own piece (the
    spaces around it are still recorded, so the round trip holds).

    Args:
        model_proto: bytes of a trained SentencePiece model.
    """

    def __init__(self, model_proto):
        import sentencepiece

        if not isinstance(model_proto, bytes) or not model_proto:
            raise ValueError("`model_proto` must be the bytes of a SentencePiece model.")
        self.model_proto = model_proto
        processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
        specials = (processor.pad_id(), processor.bos_id(), processor.eos_id(), processor.unk_id())
        if specials != (PAD_ID, START_ID, END_ID, UNK_ID):
            raise ValueError(
                "The SentencePiece model must use pad=0, start(bos)=1, end(eos)=2, unk=3. "
                f"Received ids {specials}."
            )
        self.pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        from sentencepiece import sentencepiece_model_pb2

        spec = sentencepiece_model_pb2.ModelProto.FromString(model_proto).normalizer_spec
        # Whether it case-folds (`train(lowercase=True)`): its text out is lower-case.
        self.lowercase = spec.name.endswith("_cf")

    @property
    def vocab_size(self):
        return len(self.pieces)

    def tf_tokenizer(self):
        """A `tensorflow_text.SentencepieceTokenizer` for the current graph or eager context.

        A new one each time: its model resource is owned by the op kernel that
        made it, so one made in another graph (or evicted from the eager kernel
        cache) may be gone. Inside a `tf.function` or `tf.data` map this runs once,
        at tracing, and the model travels in the graph as a constant.
        """
        import tensorflow_text

        return tensorflow_text.SentencepieceTokenizer(model=self.model_proto, out_type=tf.int32)

    @classmethod
    def train(cls, texts, vocab_size, lowercase=False, split_punctuation=True):
        """Learns a byte-pair-encoding SentencePiece model from `texts`.

        Args:
            texts: iterable of strings (the training side of one language).
            vocab_size: int, the most pieces (fewer if the text has fewer).
            lowercase: case-fold during normalisation.
            split_punctuation: make each ASCII punctuation mark its own piece.

        Returns:
            A `SubwordTokenizer`. Training is deterministic: the same texts give
            the same model.
        """
        import sentencepiece

        texts = [t for t in texts if t.strip()]
        if not texts:
            raise ValueError("Cannot learn a vocabulary from no text.")
        if not isinstance(vocab_size, int) or vocab_size < 8:
            raise ValueError(f"`vocab_size` must be an integer >= 8. Received: {vocab_size!r}")
        model = io.BytesIO()
        symbols = [c for c in string.punctuation] if split_punctuation else []
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            model_type="bpe",
            character_coverage=1.0,
            normalization_rule_name="nmt_nfkc_cf" if lowercase else "nmt_nfkc",
            split_digits=True,
            user_defined_symbols=symbols,
            pad_id=PAD_ID,
            bos_id=START_ID,
            eos_id=END_ID,
            unk_id=UNK_ID,
            pad_piece="<pad>",
            bos_piece="<s>",
            eos_piece="</s>",
            unk_piece="<unk>",
            num_threads=1,
            minloglevel=2,
            max_sentence_length=16384,
        )
        return cls(model.getvalue())

    def tokenize(self, texts):
        """int32 ids of `texts` (a string or rank-1 string tensor) as a `tf.RaggedTensor`."""
        return self.tf_tokenizer().tokenize(tf.convert_to_tensor(texts, tf.string))

    def sample(self, texts, dropout, seed=0):
        """Ids of `texts` segmented with BPE-dropout (Provilkov et al., 2020).

        Each merge of the byte-pair encoding is skipped with probability
        `dropout`, so a word comes out in smaller pieces now and then: trained
        on such samples, a model sees the pieces of the words it knows and
        copes better with the splits of rare ones. Drawn by SentencePiece itself
        (`enable_sampling`), from a generator seeded with `seed` for each call:
        the same texts and seed give the same ids, in this process or another
        (a resumed run). That holds for the pinned SentencePiece 0.2.0; from
        0.2.1 on its seeded generator is salted per process.

        Args:
            texts: list of strings.
            dropout: float in [0, 1), the probability of skipping each merge.
            seed: non-negative int.

        Returns:
            A list of lists of int ids, one per text.
        """
        import sentencepiece

        processor = sentencepiece.SentencePieceProcessor(model_proto=self.model_proto)
        # A batch is encoded on a new thread, whose generator starts from this seed.
        sentencepiece.set_random_generator_seed(seed)
        return processor.encode(
            list(texts), enable_sampling=True, alpha=dropout, nbest_size=-1, num_threads=1
        )

    def detokenize(self, ids):
        """Strings from ids `(batch, length)` (dense or ragged); special ids are dropped.

        Ids from `ks.decoding` can be passed as they are: the end id and the
        padding after it decode to nothing.
        """
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids, tf.int32)
        return self.tf_tokenizer().detokenize(ids)

    def id_to_piece(self, ids):
        return [self.pieces[i] for i in ids]

    def save(self, path_prefix):
        """Writes `PREFIX.model` (the SentencePiece model) and `PREFIX.vocab` (one piece a line)."""
        path_prefix = str(path_prefix)
        files.write_bytes(path_prefix + ".model", self.model_proto)
        files.write_bytes(
            path_prefix + ".vocab", "".join(piece + "\n" for piece in self.pieces).encode("utf-8")
        )

    @classmethod
    def load_or_train(cls, path_prefix, texts, vocab_size, **options):
        """The tokenizer saved at `path_prefix`, or one learned from `texts` and saved there.

        What a resumable run wants: the first session learns the vocabulary, the
        next ones reuse it. `options` go to `train` (`lowercase`, ...).
        """
        path_prefix = str(path_prefix)
        if os.path.exists(path_prefix + ".model"):
            return cls.load(path_prefix)
        tokenizer = cls.train(texts, vocab_size, **options)
        os.makedirs(os.path.dirname(path_prefix) or ".", exist_ok=True)
        tokenizer.save(path_prefix)
        return tokenizer

    @classmethod
    def load(cls, path_prefix):
        """Reads a tokenizer written by `save`."""
        path = str(path_prefix) + ".model"
        try:
            with open(path, "rb") as f:
                return cls(f.read())
        except FileNotFoundError:
            raise FileNotFoundError(f"No tokenizer model at {path}") from None
