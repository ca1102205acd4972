import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.models import TaggingModel, build_tagger, embedding_matrix, read_vectors

TAGS = ["O", "B-NUM", "I-NUM"]


def counting_task(num=256, length=9, seed=0):
    """Words 1..9; a run of words > 5 is a NUM entity (B- then I-). Rows right-padded."""
    rng = np.random.default_rng(seed)
    words = np.zeros((num, length), "int32")
    tags = np.zeros((num, length), "int32")
    for row in range(num):
        n = rng.integers(3, length + 1)
        words[row, :n] = rng.integers(1, 10, n)
        for t in range(n):
            if words[row, t] > 5:
                tags[row, t] = 2 if t and words[row, t - 1] > 5 else 1
    chars = np.where(words > 0, words + 2, 0)[..., None].repeat(2, axis=-1)
    return {"words": words, "chars": chars}, tags


def small_tagger(**kwargs):
    return build_tagger(
        vocab_size=10,
        num_tags=3,
        embedding_dim=8,
        units=8,
        dropout=0.0,
        tags=TAGS,
        **kwargs,
    )


# The CRF with IOB2 constraints in the quick tier; the other heads, cells and encoders slow.
OTHER_TAGGERS = [
    {"head": "softmax"},
    {"head": "crf", "char_vocab_size": 13, "char_encoder": "lstm", "num_layers": 2},
    {"head": "crf", "char_vocab_size": 13, "cell": "gru"},
    {"head": "crf", "recurrent_dropout": 0.2, "num_layers": 2},
    {"head": "crf", "char_vocab_size": 13, "char_classes": [0, 4, 4, 4, *[1, 2, 3] * 3]},
]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"head": "crf", "constraints": "iob2"},
        *(pytest.param(kwargs, marks=pytest.mark.slow) for kwargs in OTHER_TAGGERS),
    ],
)
def test_fit_learns_the_task_and_the_keras_file_round_trips(kwargs, tmp_path):
    inputs, tags = counting_task()
    model = small_tagger(**kwargs)
    if "char_vocab_size" not in kwargs:
        inputs = {"words": inputs["words"]}
    assert isinstance(model, TaggingModel) and set(model.input) == set(inputs)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(inputs, tags, batch_size=32, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    predicted = ops.convert_to_numpy(model.predict(inputs, verbose=0)["tags"])
    real = inputs["words"] > 0
    assert np.mean(predicted[real] == tags[real]) > 0.97
    assert np.all(predicted[~real] == 0)

    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is TaggingModel and (loaded.crf is None) == (kwargs["head"] == "softmax")
    for key, value in model.predict(inputs, verbose=0).items():
        np.testing.assert_allclose(loaded.predict(inputs, verbose=0)[key], value, atol=1e-5)


@pytest.mark.parametrize(
    ("cell", "layer"),
    [("lstm", keras.layers.LSTM), ("gru", keras.layers.GRU), ("rnn", keras.layers.SimpleRNN)],
)
def test_each_cell_builds_its_own_rnn_with_the_recurrent_dropout(cell, layer):
    model = small_tagger(cell=cell, num_layers=2, recurrent_dropout=0.25)
    for i in range(2):
        bidirectional = model.get_layer(f"bidirectional_{i}")
        for rnn in (bidirectional.forward_layer, bidirectional.backward_layer):
            assert type(rnn) is layer and rnn.recurrent_dropout == 0.25


def test_the_loss_is_the_crf_likelihood_per_real_word():
    inputs, tags = counting_task(num=4)
    model = small_tagger()
    outputs = model({"words": inputs["words"]})
    mask = inputs["words"] > 0
    expected = np.sum(model.crf.negative_log_likelihood(outputs["potentials"], tags, mask))
    loss = model.compute_loss({"words": inputs["words"]}, tags, outputs)
    np.testing.assert_allclose(loss, expected / mask.sum(), rtol=1e-5)


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_scores_are_the_probabilities_of_the_chosen_tags(head):
    inputs, _ = counting_task(num=4)
    inputs = {"words": inputs["words"]}
    model = small_tagger(head=head)
    outputs = model(inputs)
    tags, scores = model.tag_scores(inputs)
    np.testing.assert_array_equal(tags, outputs["tags"])
    real = inputs["words"] > 0
    scores = ops.convert_to_numpy(scores)
    assert np.all((scores[real] > 0) & (scores[real] <= 1)) and np.all(scores[~real] == 0)
    if head == "softmax":
        probabilities = ops.convert_to_numpy(ops.softmax(outputs["potentials"]))
        np.testing.assert_allclose(scores[real], probabilities.max(-1)[real], rtol=1e-6)
    else:  # each Viterbi tag's marginal (forward-backward, checked by brute force in test_crf)
        marginals = ops.convert_to_numpy(model.crf.marginals(outputs["potentials"], real))
        chosen = np.take_along_axis(marginals, np.asarray(tags)[..., None], -1)[..., 0]
        np.testing.assert_allclose(scores[real], chosen[real], rtol=1e-5)


def test_padded_sentences_tag_as_unpadded_ones():
    inputs, _ = counting_task(num=8)
    model = small_tagger(char_vocab_size=13)
    tags = model.predict(inputs, verbose=0)["tags"]
    for row in range(8):
        n = int((inputs["words"][row] > 0).sum())
        alone = {key: value[row : row + 1, :n] for key, value in inputs.items()}
        np.testing.assert_array_equal(model.predict(alone, verbose=0)["tags"][0], tags[row, :n])


def test_embedding_matrix_reads_glove_text_with_a_stated_unknown_policy(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("the 1 2\nParis 3 4\nberlin 5 6\n", encoding="utf-8")
    vocabulary = ["<pad>", "<unk>", "the", "Paris", "Berlin", "Rome"]
    matrix, found = embedding_matrix(read_vectors(path, vocabulary), vocabulary)
    assert found == 3 and matrix.shape == (6, 2)
    np.testing.assert_array_equal(matrix[0], 0)
    np.testing.assert_array_equal(matrix[2:5], [[1, 2], [3, 4], [5, 6]])
    assert np.all(matrix[[1, 5]] != 0)
    model = build_tagger(6, 3, embeddings=matrix)
    np.testing.assert_array_equal(model.get_layer("word_embedding").embeddings, matrix)
    assert sorted(read_vectors(path, ["Berlin"])) == ["berlin"]  # lower-cased lookup
    assert sorted(read_vectors(path)) == ["Paris", "berlin", "the"]
    with pytest.raises(ValueError, match="holds no vector of the words asked for"):
        read_vectors(path, ["Rome"])


def test_embedding_file_with_a_ragged_row_names_the_line(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("the 1 2\ncat 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vectors.txt:2: a vector of 1 values; expected 2"):
        read_vectors(path, ["<pad>", "the"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"head": "hmm"}, "head='hmm'"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"recurrent_dropout": -0.1}, "recurrent_dropout=-0.1"),
        ({"head": "softmax", "constraints": "iob2"}, "constraints='iob2'"),
        ({"embeddings": np.zeros((4, 3))}, r"shape \(vocab_size=10, dim\)"),
        ({"char_classes": [0, 1]}, "char_vocab_size=None"),
        ({"char_vocab_size": 3, "char_classes": [0, 1]}, "char_vocab_size=3. Received: 2"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_tagger(10, 3, **kwargs)
