import json

import numpy as np
import pytest

from keras_ssl.architectures.colorization_eccv16 import colorization_eccv16
from keras_ssl.convert.colorization import convert_colorization_release
from tests.helpers import assert_keras_round_trip, reference_path

BN_LAYERS = [(1, 4), (2, 4), (3, 6), (4, 6), (5, 6), (6, 6), (7, 6)]


def fixture():
    with np.load(reference_path("colorization", "eccv16_w16.npz")) as f:
        return {key: f[key] for key in f.files}


def state_dict(arrays):
    prefixes = ("input/", "output/", "after/", "__meta__")
    return {k: v for k, v in arrays.items() if not k.startswith(prefixes)}


def nhwc(array):
    return np.transpose(array, (0, 2, 3, 1))


def test_full_size_has_the_released_parameter_count():
    model = colorization_eccv16((32, 32, 1))
    count = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert count == 32_236_011
    meta = json.loads(str(fixture()["__meta__"]))
    assert meta["full_size"]["trainable_params"] == count


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_reproduces_the_reference_outputs_and_statistics(mode):
    arrays = fixture()
    model = colorization_eccv16((64, 64, 1), width=1 / 16)
    convert_colorization_release(state_dict(arrays), model)
    ab, logits = model(nhwc(arrays["input/L"]), training=mode == "train")
    np.testing.assert_allclose(
        np.asarray(ab), nhwc(arrays[f"output/{mode}/ab"]), atol=1e-4
    )
    np.testing.assert_allclose(
        np.asarray(logits), nhwc(arrays[f"output/{mode}/conv8_313"]), atol=1e-4
    )
    for block, index in BN_LAYERS:
        layer = model.get_layer(f"model{block}_{index}")
        key = f"model{block}.{index}"
        source = "after/train/" if mode == "train" else ""
        np.testing.assert_allclose(
            np.asarray(layer.moving_mean),
            arrays[source + key + ".running_mean"],
            atol=1e-5,
        )
        np.testing.assert_allclose(
            np.asarray(layer.moving_variance),
            arrays[source + key + ".running_var"],
            atol=1e-5,
        )


def test_features_without_top_and_round_trip(tmp_path):
    model = colorization_eccv16((16, 16, 1), width=1 / 32, include_top=False)
    assert tuple(model.output.shape) == (None, 4, 4, 8)
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 16, 16, 1))
    assert_keras_round_trip(
        model, inputs=lightness.astype("float32"), tmp_path=tmp_path
    )


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="multiples of 8"):
        colorization_eccv16((30, 30, 1))
    with pytest.raises(ValueError, match="input_shape"):
        colorization_eccv16((32, 32, 3))
    with pytest.raises(ValueError, match="width"):
        colorization_eccv16(width=0)
