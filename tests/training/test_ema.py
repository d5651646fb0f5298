import keras
import numpy as np
import pytest
from keras import layers

from keras_ssl.layers import SpectralNormalization, StandingBatchNormalization
from keras_ssl.methods import GAN
from keras_ssl.training import ema as ema_lib


def _generator(z_dim=8, standing=False):
    """z -> SN dense -> BN -> conv -> BN -> conv -> tanh, 8x8x1."""
    norm = StandingBatchNormalization if standing else layers.BatchNormalization
    z = keras.Input((z_dim,))
    x = SpectralNormalization(layers.Dense(4 * 4 * 4))(z)
    x = layers.Reshape((4, 4, 4))(x)
    x = layers.ReLU()(norm(name="bn_1")(x))
    x = layers.UpSampling2D()(x)
    x = layers.Conv2D(4, 3, padding="same")(x)
    x = layers.ReLU()(norm(name="bn_2")(x))
    x = layers.Conv2D(1, 3, padding="same", activation="tanh")(x)
    return keras.Model(z, x)


def _discriminator():
    images = keras.Input((8, 8, 1))
    x = layers.Conv2D(4, 3, strides=2, activation="relu")(images)
    return keras.Model(images, layers.Dense(1)(layers.Flatten()(x)))


def _gan(**options):
    keras.utils.set_random_seed(0)
    gan = GAN(_generator(), _discriminator(), ema_decay=0.5, seed=0, **options)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.5))
    return gan


def _values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def _trainable_pairs(gan):
    return [
        (np.asarray(e), np.asarray(w))
        for e, w in zip(gan.ema_generator.weights, gan.generator.weights)
        if w.trainable
    ]


def test_average_copies_until_the_start_step_then_averages():
    gan = _gan(ema_start_step=1)
    gan.generator_step(8)  # update 1: a copy of the new weights
    assert all(np.allclose(e, w) for e, w in _trainable_pairs(gan))
    before = [e for e, _ in _trainable_pairs(gan)]
    gan.generator_step(8)  # update 2 > start: 0.5 * average + 0.5 * weights
    pairs = _trainable_pairs(gan)
    assert any(not np.allclose(e, w) for e, w in pairs)
    for old, (e, w) in zip(before, pairs):
        np.testing.assert_allclose(e, 0.5 * old + 0.5 * w, rtol=1e-5, atol=1e-6)


def test_update_average_follows_compare_gan_decay():
    assert [float(ema_lib.average_decay(0.9, s, 3)) for s in (1, 3, 4)] == [
        0.0,
        0.0,
        pytest.approx(0.9),
    ]
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    average = keras.models.clone_model(model)
    average.set_weights([np.zeros_like(w) for w in model.get_weights()])
    ema_lib.update_average(average, model, 0.75, step=1, start_step=0)
    np.testing.assert_allclose(
        average.get_weights()[0], 0.25 * model.get_weights()[0], rtol=1e-6
    )


def _direct_moving_statistics(generator, weights, num_batches, inputs):
    """Each BN layer's batch mean / variance, averaged over the batches,
    computed on a fresh copy of `generator` in training mode."""
    expected = {}
    for name in ("bn_1", "bn_2"):
        # A fresh copy per layer: spectral norm's vector advances per call.
        probe = keras.models.clone_model(generator)
        probe.set_weights(weights)
        trunk = keras.Model(probe.inputs, probe.get_layer(name).input)
        rng = np.random.default_rng(0)
        means, variances = [], []
        for _ in range(num_batches):
            x = np.asarray(trunk(inputs(rng, 64), training=True))
            means.append(x.mean(axis=(0, 1, 2)))
            variances.append(x.var(axis=(0, 1, 2)))
        expected[name] = (np.mean(means, axis=0), np.mean(variances, axis=0))
    return expected


def test_ema_generator_statistics_come_from_its_own_weights(monkeypatch):
    gan = _gan(ema_start_step=0, standing_statistics_batches=3)
    calls = []
    refresh = ema_lib.refresh_statistics
    monkeypatch.setattr(
        ema_lib,
        "refresh_statistics",
        lambda *a, **k: calls.append(1) or refresh(*a, **k),
    )
    gan.generate(2, seed=0)
    assert not calls  # step 0: the statistics are the initial ones
    for _ in range(3):
        gan.generator_step(8)
    ema, raw = gan.ema_generator, gan.generator
    u_before = _values(ema.get_layer(index=1).weights)
    first = gan.generate(4, seed=1)
    assert len(calls) == 1
    np.testing.assert_array_equal(first, gan.generate(4, seed=1))
    assert len(calls) == 1  # cached until the next training step

    def inputs(rng, n):
        return rng.standard_normal((n, gan.z_dim)).astype("float32")

    expected = _direct_moving_statistics(raw, ema.get_weights(), 3, inputs)
    for name, (mean, variance) in expected.items():
        layer = ema.get_layer(name)
        np.testing.assert_allclose(np.asarray(layer.moving_mean), mean, atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(layer.moving_variance), variance, rtol=1e-4, atol=1e-6
        )
        # The raw generator keeps its own training moving averages.
        assert not np.allclose(np.asarray(raw.get_layer(name).moving_mean), mean)
    # The pass ran in training mode but left the spectral-norm vector alone.
    for old, new in zip(u_before, _values(ema.get_layer(index=1).weights)):
        np.testing.assert_array_equal(old, new)
    gan.generator_step(8)
    gan.generate(1, seed=0)
    assert len(calls) == 2


def test_standing_statistics_accumulate_in_inference_mode():
    keras.utils.set_random_seed(1)
    generator = _generator(standing=True)
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((16, 8)).astype("float32") for _ in range(3)]
    trunk = keras.Model(generator.inputs, generator.get_layer("bn_1").input)
    expected = np.mean(
        [np.asarray(trunk(z)).mean(axis=(0, 1, 2)) for z in batches], axis=0
    )
    count = ema_lib.refresh_statistics(generator, num_batches=3, batch_size=16)
    assert count == 2
    layer = generator.get_layer("bn_1")
    assert float(layer.accu_counter.numpy()) == pytest.approx(3.0)
    assert int(layer.update_accus.numpy()) == 0
    np.testing.assert_allclose(
        layer.accu_mean.numpy() / layer.accu_counter.numpy(), expected, atol=1e-5
    )
    images = np.asarray(generator(batches[0], training=False))
    assert np.all(np.isfinite(images)) and images.std() > 0


def test_ema_options_are_checked_and_kept_in_the_config():
    gan = GAN(
        _generator(),
        _discriminator(),
        ema_decay=0.999,
        ema_start_step=7,
        standing_statistics_batches=0,
    )
    config = gan.get_config()
    assert config["ema_start_step"] == 7
    assert config["standing_statistics_batches"] == 0
    assert GAN.from_config(config).ema_start_step == 7
    assert GAN(_generator(), _discriminator()).ema_start_step == 40000
    with pytest.raises(ValueError, match="ema_start_step"):
        GAN(_generator(), _discriminator(), ema_decay=0.9, ema_start_step=-1)
