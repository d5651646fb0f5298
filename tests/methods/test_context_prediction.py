import keras
import numpy as np
import pytest

from keras_ssl.architectures import nin_encoder
from keras_ssl.methods import ContextPrediction, build_context_prediction, build_method
from keras_ssl.ops import NEIGHBOUR_OFFSETS
from tests.methods.pretext_helpers import (
    assert_logs_finite_metrics,
    assert_round_trip,
    cifar,
    fit_briefly,
    random_images,
)


def _small(**kwargs):
    config = dict(
        encoder_config={"width": 8, "num_blocks": 3},
        patch_units=16,
        hidden_units=32,
        seed=0,
    )
    config.update(kwargs)
    return build_context_prediction(32, **config)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = _small(chromatic="drop")
    # Unlabeled images: the dataset yields image batches only.
    return fit_briefly(model, cifar(64, 8, labeled=False), 4)


def test_fit_on_real_images_logs_finite_metrics(trained):
    assert_logs_finite_metrics(trained[1])


def test_pairs_carry_their_relative_position():
    model = _small(chromatic=None)
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    image = np.stack([rows, cols, rows * 0], -1).astype("float32")
    images = np.repeat(image[None], 32, 0)
    centre, neighbour, positions = model.pairs(images, training=True)
    centre, neighbour, positions = map(np.asarray, (centre, neighbour, positions))
    offsets = np.array(NEIGHBOUR_OFFSETS)[positions]
    pitch = model.patch_size + model.gap + model.jitter
    step = (neighbour[:, 0, 0, :2] - centre[:, 0, 0, :2]) / pitch
    np.testing.assert_array_equal(np.round(step), offsets)


def test_dropping_keeps_one_channel_per_patch(trained):
    model, _ = trained
    images = random_images(16)
    centre, _, _ = model.pairs(images, training=True)
    spread = np.asarray(centre).std(axis=(1, 2))
    assert ((spread > 0.1).sum(axis=-1) == 1).all()


def test_round_trip(trained, tmp_path):
    model, _ = trained
    restored = assert_round_trip(model, tmp_path, count=8)
    assert restored.chromatic == "drop"


def test_registered_and_build_time_errors():
    model = build_method(
        "context_prediction",
        image_size=32,
        channels=1,
        encoder_config={"width": 4, "num_blocks": 3},
        patch_units=4,
        hidden_units=4,
    )
    assert model.chromatic is None and model.encoder.inputs[0].shape[-1] == 1
    with pytest.raises(ValueError, match="too small for the context-prediction"):
        build_context_prediction(32, patch_size=10, gap=2, jitter=1)
    with pytest.raises(ValueError, match="chromatic must be one of"):
        _small(chromatic="blur")
    with pytest.raises(ValueError, match=r"must take inputs of shape \(8, 8, 3\)"):
        ContextPrediction(nin_encoder((16, 16, 3), 3, width=4), image_size=32)


@pytest.mark.slow
def test_pretext_accuracy_rises_well_above_chance():
    keras.utils.set_random_seed(1)
    model = _small(
        encoder_config={"width": 32, "num_blocks": 3}, patch_units=64, hidden_units=128
    )
    model.compile()
    history = model.fit(cifar(2048, 64), steps_per_epoch=100, epochs=5, verbose=0)
    accuracy = history.history["pretext_accuracy"]
    print("context_prediction pretext accuracy per epoch:", accuracy)
    # Chance is 1/8; 8-pixel patches of 32-pixel images make the task hard.
    assert accuracy[-1] > 0.18 and accuracy[-1] > accuracy[0], accuracy


def test_mundhenk_options_train_and_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    model = _small(chroma_blur=3, yoked_jitter=True)
    model, history = fit_briefly(model, cifar(16, 8), 2)
    assert_logs_finite_metrics(history)
    config = model.get_config()
    assert config["chroma_blur"] == 3 and config["yoked_jitter"] is True
    assert_round_trip(model, tmp_path)
    with pytest.raises(ValueError, match="chroma_blur"):
        _small(chroma_blur=4)
