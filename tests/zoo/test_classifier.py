import keras
import numpy as np
import pytest

from keras_ssl import data, zoo
from tests.zoo.toy_methods import TOY_PRESETS

SMALL_NIN = {"encoder_config": {"num_blocks": 3, "width": 16}}


@pytest.fixture(autouse=True)
def toy_presets():
    for preset in TOY_PRESETS:
        zoo.register(preset, overwrite=True)
    yield
    for preset in TOY_PRESETS:
        zoo.unregister(preset["name"])


@pytest.fixture(scope="module")
def digits():
    """Real 8x8 digit scans at 32x32 RGB, split into train and held-out."""
    images, labels = data.load_arrays("digits", limit=640, seed=0, channels=3)
    return (images[:512], labels[:512]), (images[512:], labels[512:])


def accuracy(model, images, labels):
    return float(np.mean(model.predict(images, verbose=0).argmax(-1) == labels))


def test_fine_tuning_with_fit_raises_accuracy(digits):
    keras.utils.set_random_seed(0)
    (x, y), _ = digits
    model = zoo.classifier("rotnet_cifar10", 10, weights=None, **SMALL_NIN)
    assert model.output_shape == (None, 10)
    model.compile(
        keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0).history
    # Training accuracy as fit measures it: after a few hundred steps the
    # BatchNorm moving averages still lag, so held-out accuracy is checked on
    # the frozen (inference-mode) encoder below.
    assert history["loss"][-1] < 0.6 * history["loss"][0], history
    assert history["accuracy"][-1] > 0.75, history
    assert history["accuracy"][-1] > history["accuracy"][0] + 0.25, history


def test_frozen_encoder_trains_only_the_head(digits):
    keras.utils.set_random_seed(0)
    (x, y), _ = digits
    model = zoo.classifier(
        "rotnet_cifar10", 10, freeze_encoder=True, weights=None, **SMALL_NIN
    )
    trainable = {v.path for v in model.trainable_variables}
    assert trainable and all(path.startswith("head/") for path in trainable)
    frozen = [v.numpy().copy() for v in model.non_trainable_variables]
    model.compile(keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0], history
    # Frozen means frozen: BatchNorm statistics included.
    for value, variable in zip(frozen, model.non_trainable_variables, strict=True):
        np.testing.assert_array_equal(value, variable.numpy())


def test_gan_presets_use_the_discriminator_trunk():
    model = zoo.load("toy_gan_tiny", weights=None)
    trunk = zoo.feature_extractor(model)
    assert trunk.output.shape == (None, 4)
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    # The trunk shares the discriminator's weights.
    pooled = keras.Model(
        model.discriminator.inputs, model.discriminator.get_layer("d_pool").output
    )(images)
    np.testing.assert_allclose(trunk(images), pooled, atol=1e-6)
    clf = zoo.classifier("toy_gan_tiny", 3, weights=None)
    assert clf(images).shape == (2, 3)
    np.testing.assert_allclose(np.sum(clf(images), axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_classes": 1}, ValueError, "num_classes must be at least 2"),
        ({"num_classes": "10"}, TypeError, "num_classes must be an integer"),
        ({"num_classes": 10, "dropout": 1.5}, ValueError, "dropout must be in"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        zoo.classifier("toy_encoder_tiny", weights=None, **kwargs)
