"""Recurrent layers in Functional graphs: initial_state, return_state, and Keras masks.

Masks come from Embedding(mask_zero=True) or Masking and are fed here with crafted padding (at the
end, at the start, holes, whole rows) so that every masked-step rule of Keras's RNN loop shows:
states carried over, previous output repeated (or zeros), last output of the last step.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from keras import layers as L

from packager.assemble import convert
from packager.errors import UnsupportedLayers
from packager.keras_loader import describe, keras_predict
from packager.runtime import numpy_runner
from tests.helpers import describe_failures, parity_of, randomize_weights

RNNS = {"lstm": L.LSTM, "gru": L.GRU, "simplernn": L.SimpleRNN}
# Fused torch RNN (default activations) and Keras's explicit cell (other activations).
VARIANTS = {
    "fused": {},
    "loop": {"activation": "softsign"},
    "go_backwards": {"go_backwards": True},
    "zero_output": {"zero_output_for_mask": True},
}


def _max_errors(model: keras.Model, inputs: list[np.ndarray]) -> dict[str, float]:
    """Max |torch - Keras| over all outputs, eager and scripted, on these exact inputs."""
    module = convert(describe(model)).module
    expected = keras_predict(model, inputs)
    errors = {}
    for stage, runner in (("eager", module), ("script", torch.jit.script(module))):
        got = numpy_runner(runner)(inputs)
        assert [g.shape for g in got] == [e.shape for e in expected], f"{stage}: shapes {[g.shape for g in got]}"
        errors[stage] = max(float(np.abs(g - e).max()) for g, e in zip(got, expected))
    return errors


def padded_ids(batch: int, steps: int, vocab: int, seed: int = 0) -> np.ndarray:
    """Ids in [1, vocab) with zero padding: row 0 at the end, 1 at the start, 2 holes, 3 none,
    4 all padding, then repeating."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(batch, steps))
    for row in range(batch):
        kind = row % 5
        if kind == 0:
            ids[row, steps - 1 - row % 4 - 1 :] = 0
        elif kind == 1:
            ids[row, : 2 + row % 3] = 0
        elif kind == 2:
            ids[row, 2:4] = 0
            ids[row, -1] = 0
        elif kind == 4:
            ids[row] = 0
    return ids


def masked_ids_model(cls, seq_kwargs: dict, mask_zero: bool = True) -> keras.Model:
    """ids -> Embedding(mask_zero) -> RNN(sequences) -> Dense (mask passes) -> RNN(last step)."""
    ids = keras.Input((None,), dtype="int32")
    x = L.Embedding(12, 5, mask_zero=mask_zero)(ids)
    x = cls(6, return_sequences=True, **seq_kwargs)(x)
    x = L.Dense(4, activation="tanh")(x)
    out = cls(3, **seq_kwargs)(x)
    model = keras.Model(ids, out)
    randomize_weights(model, seed=3)
    return model


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("rnn", RNNS)
def test_embedding_mask_zero_into_rnns(rnn, variant):
    model = masked_ids_model(RNNS[rnn], VARIANTS[variant])
    errors = _max_errors(model, [padded_ids(10, 9, 12)])
    assert max(errors.values()) < 1e-5, f"{rnn}/{variant}: max abs err {errors}"


def test_mask_changes_the_output():
    """Guard: the padded inputs above exercise the mask (the same weights without it differ)."""
    ids = padded_ids(10, 9, 12)
    masked, unmasked = masked_ids_model(L.LSTM, {}), masked_ids_model(L.LSTM, {}, mask_zero=False)
    difference = np.abs(keras_predict(masked, [ids])[0] - keras_predict(unmasked, [ids])[0]).max()
    assert difference > 1e-3, f"mask made no difference ({difference:.3g}): the test inputs do not exercise it"


def test_float_ids_with_mask_zero():
    """Float inputs holding whole numbers, as legacy files declare them; Keras casts them."""
    ids = keras.Input((None,), dtype="float32")
    x = L.Embedding(12, 5, mask_zero=True)(ids)
    out = L.GRU(4, return_sequences=True)(x)
    model = keras.Model(ids, out)
    randomize_weights(model, seed=5)
    errors = _max_errors(model, [padded_ids(6, 8, 12).astype("float32")])
    assert max(errors.values()) < 1e-5, f"max abs err {errors}"


@pytest.mark.parametrize("rnn", RNNS)
def test_masking_layer_into_rnn(rnn):
    """Masking(mask_value) zeroes and masks whole steps; pre- and post-padding alike."""
    inputs = keras.Input((None, 3))
    x = L.Masking(mask_value=-1.0)(inputs)
    x = RNNS[rnn](5, return_sequences=True, go_backwards=True)(x)
    out = RNNS[rnn](4)(x)
    model = keras.Model(inputs, out)
    randomize_weights(model, seed=11)
    data = np.random.default_rng(2).standard_normal((5, 7, 3)).astype("float32")
    data[0, 5:] = -1.0  # post-padded
    data[1, :3] = -1.0  # pre-padded
    data[2, 3] = -1.0  # a hole
    data[3, :, 0] = -1.0  # one feature equal to mask_value is not masked
    errors = _max_errors(model, [data])
    assert max(errors.values()) < 1e-5, f"{rnn}: max abs err {errors}"


@pytest.mark.parametrize("keepdims", [False, True])
def test_masked_global_average_pooling(keepdims):
    """Embedding(mask_zero) -> GlobalAveragePooling1D: the mean over unmasked steps only."""
    inputs = keras.Input((None,), dtype="int32")
    x = L.Embedding(10, 4, mask_zero=True)(inputs)
    x = L.Dense(3)(x)  # passes the mask on
    out = L.GlobalAveragePooling1D(keepdims=keepdims)(x)
    model = keras.Model(inputs, out)
    randomize_weights(model, seed=2)
    ids = padded_ids(4, 7, 10)  # no all-padding row: Keras divides 0 by 0 there
    errors = _max_errors(model, [ids])
    assert max(errors.values()) < 1e-5, f"max abs err {errors}"


def test_mask_reaching_an_unsupported_consumer_is_refused():
    """A mask that would change a layer packager cannot apply it to is refused by name, not ignored."""
    scores, keep = keras.Input((6,)), keras.Input((6,), dtype="bool")
    out = L.Softmax(name="masked_softmax")(scores, mask=keep)
    with pytest.raises(UnsupportedLayers, match=r"masked_softmax \(Softmax: receives a Keras mask it cannot apply"):
        convert(describe(keras.Model([scores, keep], out)))


def test_mask_stopped_by_a_non_masking_layer_is_harmless():
    """Conv1D drops the mask in Keras too, so the LSTM after it sees none."""
    inputs = keras.Input((None,), dtype="int32")
    x = L.Embedding(10, 4, mask_zero=True)(inputs)
    x = L.Conv1D(3, 2, padding="same")(x)
    out = L.LSTM(3)(x)
    model = keras.Model(inputs, out)
    randomize_weights(model, seed=1)
    errors = _max_errors(model, [padded_ids(5, 6, 10)])
    assert max(errors.values()) < 1e-5, f"max abs err {errors}"


def seq2seq(cls, states_per_layer: int, loop: bool, masked: bool) -> keras.Model:
    """Encoder returning its states as the decoder's initial_state; outputs: decoder sequence + states."""
    kwargs = {"activation": "elu"} if loop else {}
    enc_in, dec_in = keras.Input((None, 4), name="enc"), keras.Input((None,), dtype="int32", name="dec")
    encoded = cls(6, return_state=True, **kwargs)(enc_in)
    states = list(encoded[1 : 1 + states_per_layer])
    dec = L.Embedding(9, 4, mask_zero=masked)(dec_in)
    decoded = cls(6, return_sequences=True, return_state=True, **kwargs)(dec, initial_state=states)
    out = L.Dense(5, activation="softmax")(decoded[0])
    model = keras.Model([enc_in, dec_in], [out, *decoded[1:]])
    randomize_weights(model, seed=states_per_layer)
    return model


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "mask_zero_decoder"])
@pytest.mark.parametrize("loop", [False, True], ids=["fused", "loop"])
@pytest.mark.parametrize("rnn", RNNS)
def test_seq2seq_initial_state_and_return_state(rnn, loop, masked):
    """Keras ignores the decoder's mask when initial_state is passed (the call has two tensor args);
    the conversion follows Keras, whatever that means for padded decoder steps."""
    model = seq2seq(RNNS[rnn], 2 if rnn == "lstm" else 1, loop, masked)
    enc = np.random.default_rng(4).standard_normal((5, 7, 4)).astype("float32")
    errors = _max_errors(model, [enc, padded_ids(5, 6, 9)])
    assert max(errors.values()) < 1e-5, f"{rnn}: max abs err {errors}"


def test_seq2seq_random_inputs_through_validation():
    """The same graph through the standard validation (two batch sizes, two dynamic lengths)."""
    parity = parity_of(seq2seq(L.LSTM, 2, loop=False, masked=True))
    assert parity.passed, describe_failures(parity)
