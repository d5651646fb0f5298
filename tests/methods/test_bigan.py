import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.losses import gan as gan_losses
from keras_ssl.methods import BiGAN, build_bigan, build_method
from tests.helpers import assert_keras_round_trip, run_method_test
from tests.methods.pretext_helpers import cifar, random_images


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = build_bigan(32, z_dim=32, width=16, seed=0)
    model.compile()
    history = model.fit(
        cifar(256, 16),
        steps_per_epoch=15,
        epochs=1,
        verbose=0,
        validation_data=cifar(64, 32, seed=9),
        validation_steps=2,
    )
    return model, history


def test_fit_on_real_images_logs_finite_losses_and_reconstruction_error(trained):
    _, history = trained
    logs = history.history
    for name in (
        "d_loss",
        "g_loss",
        "reconstruction_error",
        "val_reconstruction_error",
    ):
        assert np.isfinite(logs[name][-1]), (name, logs)
    assert 0 < logs["val_reconstruction_error"][-1] < 1


def test_generator_and_encoder_minimise_the_swapped_discriminator_loss():
    model = build_bigan(16, z_dim=4, width=8)
    rng = np.random.default_rng(0)
    real = rng.normal(size=(5, 1)).astype("float32")
    fake = rng.normal(size=(5, 1)).astype("float32")
    assert float(model.discriminator_loss(real, fake)) == pytest.approx(
        np.mean(np.log1p(np.exp(-real))) + np.mean(np.log1p(np.exp(fake))), rel=1e-5
    )
    assert float(model.generator_loss(real, fake)) == pytest.approx(
        float(gan_losses.discriminator_loss(fake, real)), rel=1e-6
    )


def test_latent_prior_is_uniform_on_minus_one_one():
    model = build_bigan(16, z_dim=64, width=8, seed=0)
    z = np.asarray(model.sample_z(256))
    assert z.min() >= -1 and z.max() <= 1
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1 / 3) < 0.02


def test_a_step_trains_all_three_networks(trained):
    model = build_bigan(16, z_dim=4, width=8, seed=1)
    model.compile()
    before = {
        name: [
            keras.ops.convert_to_numpy(w)
            for w in getattr(model, name).trainable_weights
        ]
        for name in ("generator", "encoder", "discriminator")
    }
    model.fit(random_images(8, size=16), batch_size=8, epochs=1, verbose=0)
    for name, weights in before.items():
        after = getattr(model, name).trainable_weights
        moved = max(np.abs(np.asarray(a) - b).max() for a, b in zip(after, weights))
        assert moved > 0, name


def test_generate_encode_and_preview(trained):
    model, _ = trained
    images = model.generate(5, seed=3)
    assert images.dtype == np.uint8 and images.shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(images, model.generate(5, seed=3))
    assert model.encode(images).shape == (5, 32)
    columns = model.preview(images)
    assert [c.shape for c in columns] == [(5, 32, 32, 3)] * 2
    np.testing.assert_array_equal(columns[0], images)
    with pytest.raises(ValueError, match="labels"):
        model.generate(2, labels=[0, 1])


def test_round_trip_keeps_all_networks_and_optimizers(trained, tmp_path):
    model, _ = trained
    restored = assert_keras_round_trip(
        model, inputs=random_images(2), tmp_path=tmp_path
    )
    assert isinstance(restored, BiGAN)
    images = random_images(3)
    np.testing.assert_allclose(
        restored.encoder(images), model.encoder(images), atol=1e-6
    )
    assert int(restored.d_optimizer.iterations) == int(model.d_optimizer.iterations)
    assert isinstance(build_method("bigan", image_size=16, z_dim=4, width=4), BiGAN)


def test_mismatched_networks_are_clear_errors():
    a = build_bigan(16, z_dim=4, width=8)
    b = build_bigan(16, z_dim=6, width=8)
    with pytest.raises(ValueError, match="z_dim"):
        BiGAN(a.generator, b.encoder, a.discriminator)
    with pytest.raises(ValueError, match="discriminator"):
        BiGAN(a.generator, a.encoder, b.discriminator)


def test_method_contract_on_real_images(tmp_path):
    _, _, restored = run_method_test(
        "bigan",
        {"image_size": 32, "z_dim": 8, "width": 8},
        cifar(32, 8),
        steps=2,
        tmp_path=tmp_path,
    )
    assert restored.z_dim == 8


def _mse(a, b):
    return float(np.mean(((np.asarray(a) - np.asarray(b)) / 2) ** 2))


@pytest.mark.slow
def test_learns_an_encoder_that_the_generator_inverts_on_digits():
    # Real 8x8 digits at 16x16: x -> E -> G comes back closer to x than to
    # other images, and keeps the digit's class.
    from keras_ssl.data import load_arrays

    train, train_labels = load_arrays("digits", split="train", image_size=16)
    test, test_labels = load_arrays("digits", split="test", image_size=16)
    keras.utils.set_random_seed(0)
    model = build_bigan(16, channels=1, z_dim=32, width=32, seed=0)
    model.compile()
    before = _mse(model.reconstruct(test), test)
    dataset = tf.data.Dataset.from_tensor_slices(train).shuffle(len(train), seed=0)
    model.fit(
        dataset.repeat().batch(64, drop_remainder=True),
        steps_per_epoch=500,
        epochs=3,
        verbose=0,
    )
    rec = np.asarray(model.reconstruct(test))
    after = _mse(rec, test)
    other = _mse(np.roll(rec, 1, axis=0), test)  # G(E(x)) of another image
    random_image = _mse(train[: len(test)], test)
    assert after < 0.7 * before and after < random_image, (before, after)
    assert after < 0.9 * other, (after, other)
    # The class of G(E(x)) (its nearest training image) is x's class far
    # more often than chance (about 0.1).
    flat_rec, flat_train = rec.reshape(len(rec), -1), train.reshape(len(train), -1)
    distances = (flat_train**2).sum(1) - 2 * flat_rec @ flat_train.T
    kept = np.mean(train_labels[distances.argmin(1)] == test_labels)
    assert kept > 0.18, kept
