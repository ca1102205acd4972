import numpy as np

from keras_seq.metrics import MaskedAccuracy, Perplexity

LOGITS = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.6, 0.2, 0.2]]], "float32"))


def test_token_accuracy_ignores_padding():
    metric = MaskedAccuracy(pad_id=0)
    metric.update_state(np.array([[1, 1, 0]]), LOGITS)  # wrong, right, pad
    assert float(metric.result()) == 0.5
    metric.update_state(np.array([[1, 1, 1]]), LOGITS)  # wrong, right, wrong
    np.testing.assert_allclose(metric.result(), 2 / 5, rtol=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_perplexity_is_exp_of_mean_real_token_crossentropy():
    metric = Perplexity(pad_id=0)
    metric.update_state(np.array([[1, 1, 0]]), LOGITS)
    expected = np.exp(-(np.log(0.25) + np.log(0.8)) / 2)
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-6)


def test_perplexity_accumulates_over_batches_by_tokens_not_by_batch():
    metric = Perplexity(pad_id=0)
    metric.update_state(np.array([[1, 1, 0]]), LOGITS)  # two real tokens: 0.25, 0.8
    metric.update_state(np.array([[0, 2, 0]]), LOGITS)  # one real token: id 2, p = 0.1
    expected = np.exp(-(np.log(0.25) + np.log(0.8) + np.log(0.1)) / 3)
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-6)
    batch_mean = np.exp(-((np.log(0.25) + np.log(0.8)) / 2 + np.log(0.1)) / 2)
    assert abs(float(metric.result()) - batch_mean) > 0.1  # a mean of batch means differs
    metric.reset_state()
    metric.update_state(np.array([[1, 1, 0]]), LOGITS)
    np.testing.assert_allclose(metric.result(), np.exp(-(np.log(0.25) + np.log(0.8)) / 2))
