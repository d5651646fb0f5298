import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.data import load
from keras_ssl.layers import SpectralNormalization
from keras_ssl.methods import GAN, build_gan, build_method
from keras_ssl.training.precision import precision_policy
from tests.helpers import cifar10_images, run_method_test

CONFIG = {"image_size": 32, "channels": 1, "width": 4, "z_dim": 8, "seed": 0}


@pytest.fixture(scope="module")
def digits():
    return load("digits", image_size=32, batch_size=16, limit=64, seed=0)


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    # The method contract: fit on real images with finite losses, `.keras`
    # round trip with identical D outputs and both optimizers' state.
    gan, history, restored = run_method_test(
        "gan",
        {**CONFIG, "n_disc": 2, "ema_decay": 0.5, "ema_start_step": 0},
        digits,
        steps=4,
        epochs=3,
        tmp_path=tmp_path_factory.mktemp("gan"),
    )
    return gan, history, restored


def test_n_disc_discriminator_updates_per_generator_update(trained):
    gan, _, _ = trained
    steps = 3 * 4  # 3 epochs of 64 / 16 batches
    assert int(gan.g_optimizer.iterations.numpy()) == steps
    assert int(gan.d_optimizer.iterations.numpy()) == 2 * steps


def test_each_player_lowers_its_own_loss(digits):
    # With the other player frozen, repeated updates must lower a player's loss.
    keras.utils.set_random_seed(0)
    gan = build_gan(32, channels=1, width=4, z_dim=8, seed=0)
    gan.compile()
    images, _ = next(iter(digits))
    d_losses = [float(gan.discriminator_step(images)["d_loss"]) for _ in range(6)]
    assert np.mean(d_losses[-2:]) < d_losses[0]
    g_losses = [float(gan.generator_step(16)["g_loss"]) for _ in range(6)]
    assert np.mean(g_losses[-2:]) < g_losses[0]


def _snapshot(model):
    return [np.array(v.numpy()) for v in model.trainable_variables]


def _changed(before, model):
    return [
        not np.allclose(b, np.asarray(v))
        for b, v in zip(before, model.trainable_variables)
    ]


def test_each_update_changes_only_its_own_model(digits):
    gan = build_gan(32, channels=1, width=4, z_dim=8, seed=0)
    gan.compile()
    images, _ = next(iter(digits))
    g_before, d_before = _snapshot(gan.generator), _snapshot(gan.discriminator)
    gan.discriminator_step(images)
    assert not any(_changed(g_before, gan.generator))
    assert all(_changed(d_before, gan.discriminator))
    g_before, d_before = _snapshot(gan.generator), _snapshot(gan.discriminator)
    gan.generator_step(16)
    # Biases of convolutions followed by batch norm get no gradient, so "most".
    assert np.mean(_changed(g_before, gan.generator)) > 0.5
    assert not any(_changed(d_before, gan.discriminator))


def test_generate_is_uint8_and_deterministic_for_a_seed(trained):
    gan, _, _ = trained
    images = gan.generate(5, seed=3)
    assert images.dtype == np.uint8 and images.shape == (5, 32, 32, 1)
    np.testing.assert_array_equal(images, gan.generate(5, seed=3))
    assert not np.array_equal(images, gan.generate(5, seed=4))


def test_ema_generator_averages_the_generator(trained):
    gan, _, _ = trained
    pairs = [
        (np.asarray(e), np.asarray(w), w.trainable)
        for e, w in zip(gan.ema_generator.weights, gan.generator.weights)
    ]
    # Trainable weights are averaged (so they lag behind); the batch-norm
    # statistics are the average's own (tests/training/test_ema.py).
    assert any(not np.allclose(e, w) for e, w, trainable in pairs if trainable)


def test_keras_round_trip_keeps_the_ema_generator(trained):
    gan, _, restored = trained
    assert restored.get_config()["n_disc"] == 2
    np.testing.assert_array_equal(restored.generate(4, seed=0), gan.generate(4, seed=0))


def test_wasserstein_gradient_penalty_on_cifar(tmp_path):
    _, history, _ = run_method_test(
        "gan",
        {**CONFIG, "channels": 3, "architecture": "dcgan", "loss": "wasserstein"},
        cifar10_images(16),
        steps=2,
        batch_size=8,
        tmp_path=tmp_path,
    )
    assert np.isfinite(history.history["gradient_penalty"][-1])
    assert history.history["gradient_penalty"][-1] > 0


def test_nan_loss_stops_training_naming_the_loss_and_step():
    gan = build_gan(16, channels=1, architecture="dcgan", width=2, z_dim=4, seed=0)
    gan.compile()
    images = np.full((8, 16, 16, 1), np.nan, "float32")
    data = tf.data.Dataset.from_tensor_slices(images).batch(4)
    with pytest.raises(
        FloatingPointError,
        match=r"GAN: loss 'd_loss' became nan at step 1 \(epoch 1, batch 1\)",
    ):
        gan.fit(data, epochs=1, verbose=0)


def test_bad_input_is_a_clear_error_before_training(digits):
    with pytest.raises(ValueError, match="Received: image_size=40"):
        build_gan(40)
    with pytest.raises(ValueError, match="loss must be one of"):
        build_gan(32, width=4, loss="l2")
    with pytest.raises(ValueError, match="architecture must be one of"):
        build_gan(32, architecture="vit")
    gan = build_gan(32, channels=1, width=4, z_dim=8, n_disc=3)
    gan.compile()
    with pytest.raises(ValueError, match="divisible by 3.*Received: batch_size=16"):
        gan.fit(digits, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="expects image batches of shape"):
        gan.fit(np.zeros((6, 16, 16, 1), "float32"), batch_size=3, verbose=0)
    with pytest.raises(ValueError, match="unconditional; labels must be None"):
        gan.generate(2, labels=[0, 1])
    conditional = build_method("cgan", width=4, z_dim=8, num_classes=3)
    with pytest.raises(ValueError, match="GAN is unconditional"):
        GAN(conditional.generator, conditional.discriminator)


def _loss_scaled(optimizer):
    # A small initial scale keeps float16 gradients of the scaled loss finite
    # (the default 2**15 overflows D's first gradients at these sizes, and
    # those steps would be skipped).
    return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=256.0)


def _one_update_each(policy, images, init=None):
    wrap = _loss_scaled if policy == "mixed_float16" else (lambda opt: opt)
    with precision_policy(policy):
        gan = build_gan(32, channels=1, width=4, z_dim=8, seed=0)
        gan.compile(
            g_optimizer=wrap(keras.optimizers.SGD(0.1)),
            d_optimizer=wrap(keras.optimizers.SGD(0.1)),
        )
    if init is not None:
        gan.set_weights(init)
    before = [np.array(w) for w in gan.get_weights()]
    gan.discriminator_step(images)
    gan.generator_step(16)
    updates = [np.asarray(w) - b for w, b in zip(gan.get_weights(), before)]
    return gan, before, updates


def test_mixed_float16_updates_match_float32_through_loss_scaling(digits):
    # Plain SGD in float32 against loss-scaled SGD in mixed_float16: the loss
    # scale optimizer divides the gradients by its scale, so a train step
    # that did not multiply the loss by it would move the weights 256 times
    # too little (and small float16 gradients would flush to zero).
    images, _ = next(iter(digits))
    keras.utils.set_random_seed(0)
    _, init, expected = _one_update_each("float32", images)
    gan, _, updates = _one_update_each("mixed_float16", images, init)
    assert keras.config.dtype_policy().name == "float32"
    assert gan.generator.compute_dtype == "float16"
    expected, updates = (
        np.concatenate([u.ravel() for u in expected]),
        np.concatenate([u.ravel() for u in updates]),
    )
    assert np.linalg.norm(expected) > 1e-2
    relative = np.linalg.norm(updates - expected) / np.linalg.norm(expected)
    assert relative < 0.05, relative
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert int(optimizer.iterations.numpy()) == 1


def test_mixed_float16_trains_ssgan_with_float32_statistics(digits):
    keras.utils.set_random_seed(0)
    with precision_policy("mixed_float16"):
        gan = build_method("ssgan", image_size=32, channels=1, width=4, z_dim=8)
        gan.compile(
            g_optimizer=_loss_scaled(keras.optimizers.Adam()),
            d_optimizer=_loss_scaled(keras.optimizers.Adam()),
        )
    history = gan.fit(digits.take(2), epochs=2, verbose=0)
    assert keras.config.dtype_policy().name == "float32"
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), name
    # A step whose scaled gradients overflow float16 is skipped and halves
    # the scale; at this scale every step of both players applies.
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert int(optimizer.iterations.numpy()) == 4
        assert float(optimizer.dynamic_scale.numpy()) == 256.0
    layers = list(gan.generator._flatten_layers()) + list(
        gan.discriminator._flatten_layers()
    )
    norms = [layer for layer in layers if isinstance(layer, SpectralNormalization)]
    batch_norms = [
        layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert norms and batch_norms
    for layer in norms:
        assert layer.u.dtype == "float32"
        assert np.all(np.isfinite(np.asarray(layer.u)))
    for layer in batch_norms:
        assert layer.moving_variance.dtype == "float32"
        assert np.all(np.isfinite(np.asarray(layer.moving_variance)))
    images = gan.generate(2, seed=0)
    assert images.dtype == np.uint8 and images.shape == (2, 32, 32, 1)
