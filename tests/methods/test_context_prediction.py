import keras
import numpy as np
import pytest

from keras_ssl.architectures import nin_encoder
from keras_ssl.methods import ContextPrediction, build_context_prediction, build_method
from keras_ssl.ops import NEIGHBOUR_OFFSETS, TRIPLE_CONFIGURATIONS, random_aperture
from tests.helpers import cifar10_images
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


def test_mundhenk_options_train_on_real_images_and_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    model = _small(
        chroma_blur=3,
        yoked_jitter=True,
        configurations="triples",
        random_aperture=2 / 3,
        rotation=True,
    )
    assert model.num_classes == 80 and model.pretext_chance(8) == 1 / 80
    model.compile()
    history = model.fit(cifar10_images(16), batch_size=8, epochs=1, verbose=0)
    assert_logs_finite_metrics(history)
    config = model.get_config()
    assert config["chroma_blur"] == 3 and config["yoked_jitter"] is True
    assert config["configurations"] == "triples" and config["rotation"] is True
    assert config["random_aperture"] == 2 / 3
    restored = assert_round_trip(model, tmp_path)
    assert restored.num_classes == 80 and restored.random_aperture == 2 / 3
    with pytest.raises(ValueError, match="chroma_blur"):
        _small(chroma_blur=4)
    with pytest.raises(ValueError, match="configurations must be one of"):
        _small(configurations="quads")
    with pytest.raises(ValueError, match="random_aperture"):
        _small(random_aperture=1.5)
    with pytest.raises(TypeError, match="rotation"):
        _small(rotation=1)


def _coordinate_images(count):
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    image = np.stack([rows, cols, rows * 0], -1).astype("float32")
    return np.repeat(image[None], count, 0)


def _unrotate(patch):
    """(k, patch turned back) such that np.rot90(original, k) == patch."""
    found = []
    for k in range(4):
        back = np.rot90(patch, -k, axes=(0, 1))
        if back[1, 0, 0] - back[0, 0, 0] == 1 and back[0, 1, 1] - back[0, 0, 1] == 1:
            found.append((k, back))
    assert len(found) == 1
    return found[0]


def test_triples_with_rotation_carry_configuration_and_rotation():
    model = _small(chromatic=None, configurations="triples", rotation=True)
    patches, labels = model.patch_sets(_coordinate_images(48), training=True)
    patches, labels = np.asarray(patches), np.asarray(labels)
    assert patches.shape == (48, 3, 8, 8, 3)
    assert len(set(labels.tolist())) > 20
    pitch = model.patch_size + model.gap + model.jitter
    for sample, label in zip(patches, labels):
        turned = [_unrotate(patch) for patch in sample]
        assert {k for k, _ in turned} == {label // 20}
        corners = np.array([back[0, 0, :2] for _, back in turned])
        cells = np.array(TRIPLE_CONFIGURATIONS[label % 20])
        step = (corners - corners[0]) / pitch
        np.testing.assert_array_equal(np.round(step), cells - cells[0])


def _mirrored(config):
    return tuple((row, 2 - col) for row, col in config)


def test_triple_configurations_follow_the_authors_relabelling():
    # LLNL/selfsupervised LoadFunctions.flip_and_rotate_w_classification:
    # a left-right mirror maps class a to class b, patches kept in order
    # (classes 0-7) or the outer two swapped (classes 8-11).
    configs = TRIPLE_CONFIGURATIONS
    assert len(set(configs)) == 20
    assert all(len(set(cells)) == 3 and (1, 1) in cells for cells in configs)
    for a, b in {0: 2, 2: 0, 3: 7, 7: 3, 4: 6, 6: 4, 1: 1, 5: 5}.items():
        assert _mirrored(configs[a]) == configs[b]
    for a, b in {8: 11, 11: 8, 9: 10, 10: 9}.items():
        assert _mirrored(configs[a])[::-1] == configs[b]


def test_random_aperture_shows_all_patches_but_one_through_one_window():
    size, fraction = 9, 2 / 3
    patches = np.random.default_rng(0).uniform(1, 2, (256, 3, size, size, 2))
    out, mask = random_aperture(
        patches.astype("float32"), fraction, seed=0, return_mask=True
    )
    out, mask = np.asarray(out), np.asarray(mask)[..., 0]
    np.testing.assert_allclose(out, patches * mask[..., None], rtol=1e-6)
    sides = []
    for sample in mask:
        whole = sample.reshape(3, -1).min(-1) == 1
        assert whole.any()
        windows = sample[~whole] if not whole.all() else sample[:1]
        assert (windows == windows[0]).all()
        rows, cols = windows[0].any(1), windows[0].any(0)
        side = int(rows.sum())
        assert side == int(cols.sum())
        np.testing.assert_array_equal(windows[0], np.outer(rows, cols))
        assert np.ptp(np.flatnonzero(rows)) == side - 1
        sides.append(side)
    assert set(sides) == set(range(6, size + 1))
