import keras
import numpy as np
import pytest
from keras import ops

from keras_ssl.architectures.nin import nin_encoder
from keras_ssl.losses.colorization import rebalanced_cross_entropy
from keras_ssl.methods.colorization import Colorization, build_colorization, resize
from keras_ssl.ops.color import images_to_lab, rebalancing_weights, soft_encode_ab
from tests.helpers import cifar10_images, run_method_test
from tests.methods.pretext_helpers import short_run

SMALL = {"image_size": 32, "encoder_config": {"width": 8, "num_blocks": 3}}


@pytest.mark.parametrize("objective", ["classification", "regression"])
def test_trains_on_real_images_and_round_trips(objective, tmp_path):
    images = cifar10_images(16)
    model, history, restored = run_method_test(
        "colorization",
        dict(SMALL, objective=objective),
        images,
        steps=2,
        tmp_path=tmp_path,
    )
    assert set(history.history) == set(Colorization.metric_names)
    assert 0 <= history.history["pretext_accuracy"][-1] <= 1
    np.testing.assert_allclose(np.asarray(restored.bins), np.asarray(model.bins))
    np.testing.assert_allclose(np.asarray(restored.prior), np.asarray(model.prior))
    coloured = restored.colorize((images[:2] + 1) * 127.5)
    assert coloured.shape == (2, 32, 32, 3) and coloured.dtype == np.uint8
    columns = model.preview(images[:3])
    assert len(columns) == 3
    for column in columns:
        assert column.shape == (3, 32, 32, 3) and column.dtype == np.uint8
    # The input column is grey, the original column the images themselves.
    grey = columns[0].astype(int)
    assert np.abs(grey[..., 0] - grey[..., 2]).max() <= 1
    np.testing.assert_array_equal(
        columns[2], np.round((images[:3] + 1) * 127.5).astype("uint8")
    )


def test_loss_is_the_rebalanced_cross_entropy_of_soft_targets():
    images = cifar10_images(4)
    prior = np.random.default_rng(0).dirichlet(np.ones(261)).astype("float32")
    model = build_colorization(**SMALL, prior=prior)
    logs = model.pretext_logs(images, training=False)
    logits = model(images)
    ab = resize(images_to_lab(images)[..., 1:], (8, 8), "area")
    targets = soft_encode_ab(ab, model.bins, 5.0, 5)
    expected = rebalanced_cross_entropy(
        targets, logits, rebalancing_weights(prior, 0.5)
    )
    assert float(logs["pretext_loss"]) == pytest.approx(float(expected), rel=1e-5)


def test_prior_is_estimated_in_training_unless_given():
    images = cifar10_images(8)
    model = build_colorization(**SMALL)
    uniform = np.asarray(model.prior).copy()
    model.pretext_logs(images, training=True)
    moved = np.asarray(model.prior)
    assert np.abs(moved - uniform).max() > 0
    assert moved.sum() == pytest.approx(1.0, rel=1e-4)
    # Grey-ish colours are the commonest: the neutral bin gains mass.
    neutral = int(np.argmin(np.abs(np.asarray(model.bins)).sum(-1)))
    assert moved[neutral] > uniform[neutral]
    fixed = build_colorization(**SMALL, prior=moved)
    before = np.asarray(fixed.prior).copy()
    fixed.pretext_logs(images, training=True)
    np.testing.assert_allclose(np.asarray(fixed.prior), before)


def test_the_encoder_never_sees_colour():
    images = cifar10_images(2)
    model = build_colorization(**SMALL)
    lab = ops.convert_to_numpy(images_to_lab(images))
    # Another image with the same L and different colours.
    shifted = lab.copy()
    shifted[..., 1:] = -shifted[..., 1:] * 0.5
    from keras_ssl.ops.color import lab_to_images

    recoloured = ops.convert_to_numpy(lab_to_images(shifted))
    np.testing.assert_allclose(
        np.asarray(model(images)), np.asarray(model(recoloured)), atol=2e-3
    )


def test_bad_arguments_are_clear_errors():
    encoder = nin_encoder((16, 16, 3), num_blocks=3, width=8)
    with pytest.raises(ValueError, match="objective"):
        Colorization(encoder, objective="l1")
    with pytest.raises(ValueError, match="prior"):
        Colorization(encoder, prior=[0.5, 0.5])
    with pytest.raises(ValueError, match="bins"):
        Colorization(encoder, bins=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="feature map"):
        Colorization(nin_encoder((16, 16, 3), num_blocks=3, width=8, pooled=True))
    with pytest.raises(ValueError, match="width"):
        build_colorization(32, width=0.5)
    with pytest.raises(ValueError, match="channels"):
        build_colorization(32, channels=1)


@pytest.mark.slow
def test_colour_error_beats_the_grey_baseline_after_a_short_run():
    keras.utils.set_random_seed(0)
    model = build_colorization(32, encoder_config={"width": 32, "num_blocks": 3})
    before, after, test = short_run(model)
    lab = ops.convert_to_numpy(images_to_lab(test))
    grey_error = float(np.sqrt((lab[..., 1:] ** 2).sum(-1)).mean())
    print(grey_error)
    assert after["pretext_loss"] < before["pretext_loss"]
    assert after["color_error"] < before["color_error"]
    assert after["pretext_accuracy"] > before["pretext_accuracy"]
