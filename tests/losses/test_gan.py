import numpy as np
import pytest

from keras_ssl.losses import gan
from tests.helpers import random_inputs


def _f(x):
    return float(np.asarray(x))


def test_non_saturating_is_sigmoid_cross_entropy():
    real, fake = random_inputs((16, 1), seed=0), random_inputs((16, 1), seed=1)
    sigmoid = 1.0 / (1.0 + np.exp(-np.concatenate([real, fake])))
    expected = -np.mean(np.log(sigmoid[:16])) - np.mean(np.log(1.0 - sigmoid[16:]))
    np.testing.assert_allclose(
        _f(gan.discriminator_loss(real, fake, "non_saturating")), expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        _f(gan.generator_loss(fake, "non_saturating")),
        -np.mean(np.log(sigmoid[16:])),
        rtol=1e-5,
    )


def test_hinge_is_zero_beyond_the_margin_and_linear_inside():
    assert _f(gan.discriminator_loss(np.full(4, 1.5), np.full(4, -2.0), "hinge")) == 0
    # real logit 0.5 is 0.5 inside the margin, fake logit -0.5 is 0.5 inside.
    assert _f(gan.discriminator_loss(np.full(4, 0.5), np.full(4, -0.5), "hinge")) == 1
    np.testing.assert_allclose(
        _f(gan.generator_loss(np.array([1.0, 3.0]), "hinge")), -2
    )


def test_least_squares_and_wasserstein_values():
    real, fake = np.array([1.0, 3.0]), np.array([0.0, 2.0])
    # 0.5 * mean([0, 4]) + 0.5 * mean([0, 4])
    np.testing.assert_allclose(
        _f(gan.discriminator_loss(real, fake, "least_squares")), 2.0
    )
    np.testing.assert_allclose(_f(gan.generator_loss(fake, "least_squares")), 0.5)
    np.testing.assert_allclose(
        _f(gan.discriminator_loss(real, fake, "wasserstein")), -1
    )
    np.testing.assert_allclose(_f(gan.generator_loss(fake, "wasserstein")), -1)


@pytest.mark.parametrize("loss", gan.GAN_LOSSES)
def test_generator_loss_falls_as_fakes_look_real(loss):
    values = [_f(gan.generator_loss(np.full(8, t), loss)) for t in (-2.0, -0.5, 0.5)]
    assert values[0] > values[1] > values[2]


@pytest.mark.parametrize("loss", gan.GAN_LOSSES)
def test_discriminator_loss_falls_as_it_separates(loss):
    values = [
        _f(gan.discriminator_loss(np.full(8, t), np.full(8, -t), loss))
        for t in (-0.5, 0.0, 0.5)
    ]
    assert values[0] > values[1] > values[2]


def test_gradient_penalty_is_squared_distance_of_norm_to_one():
    gradients = np.zeros((3, 2, 2, 1), "float32")
    gradients[0, 0, 0, 0] = 1.0  # norm 1 -> 0
    gradients[1, :, :, 0] = 1.0  # norm 2 -> 1
    # gradients[2] is 0: norm 0 -> 1
    np.testing.assert_allclose(
        _f(gan.gradient_penalty(gradients)), 2.0 / 3.0, rtol=1e-5
    )


def test_interpolate_endpoints_and_midpoint():
    real, fake = (
        random_inputs((3, 4, 4, 2), seed=0),
        random_inputs((3, 4, 4, 2), seed=1),
    )
    out = np.asarray(gan.interpolate(real, fake, np.array([1.0, 0.0, 0.5], "float32")))
    np.testing.assert_allclose(out[0], real[0], atol=1e-6)
    np.testing.assert_allclose(out[1], fake[1], atol=1e-6)
    np.testing.assert_allclose(out[2], (real[2] + fake[2]) / 2, atol=1e-6)


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="loss must be one of .* Received: loss='l1'"):
        gan.discriminator_loss(np.zeros(2), np.zeros(2), "l1")
