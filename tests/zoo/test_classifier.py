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
    trunk = [
        v for v in model.non_trainable_variables if not v.path.startswith("feature_")
    ]
    frozen = [v.numpy().copy() for v in trunk]
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0], history
    # Frozen means frozen: the trunk's BatchNorm statistics included (only
    # the standardising BatchNorm before the head tracks the features).
    for value, variable in zip(frozen, trunk, strict=True):
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
        ({"num_classes": 1}, ValueError, "num_classes must be an int >= 2"),
        ({"num_classes": "10"}, ValueError, "Received: num_classes='10'"),
        ({"num_classes": 10, "dropout": 1.5}, ValueError, "dropout must be in"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        zoo.classifier("toy_encoder_tiny", weights=None, **kwargs)


def test_trunk_gradient_is_zero_during_the_head_warm_up_then_scaled():
    import tensorflow as tf

    from keras_ssl.zoo.classifier import TrunkGradientScale

    layer = TrunkGradientScale(scale=0.1, warmup_steps=2)
    x = tf.ones((2, 3))
    gradients = []
    for _ in range(3):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            total = tf.reduce_sum(y)
        np.testing.assert_allclose(y, x)
        gradients.append(float(tf.reduce_mean(tape.gradient(total, x))))
    np.testing.assert_allclose(gradients, [0.0, 0.0, 0.1], atol=1e-7)
    restored = TrunkGradientScale.from_config(layer.get_config())
    assert (restored.scale, restored.warmup_steps) == (0.1, 2)


def test_classifier_is_compiled_with_the_default_recipe():
    model = zoo.classifier("toy_encoder_tiny", 3, weights=None)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.get_layer("feature_norm").momentum == 0.9
    scale = model.get_layer("trunk_gradient_scale")
    assert scale.scale == pytest.approx(0.01) and scale.warmup_steps == 100
    uncompiled = zoo.classifier("toy_encoder_tiny", 3, weights=None, compile=False)
    assert not uncompiled.compiled


@pytest.mark.slow
def test_fine_tuning_the_shipped_preset_works_out_of_the_box():
    # tools/benchmark_fine_tuning.py measures the same (10 epochs): fine-tuned
    # preset 0.88, same recipe from random weights 0.45, frozen preset 0.83,
    # logistic regression on its standardised features 0.88.
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y = data.load_arrays("digits", split="train", image_size=32, channels=1)
    xt, yt = data.load_arrays("digits", split="test", image_size=32, channels=1)
    scores = {}
    for name, options in {
        "pretrained": {},
        "random": {"weights": None},
        "frozen": {"freeze_encoder": True},
    }.items():
        keras.utils.set_random_seed(0)
        model = zoo.classifier("ssgan_digits", 10, **options)
        model.fit(x, y, batch_size=64, epochs=10, verbose=0)
        scores[name] = accuracy(model, xt, yt)
    trunk = zoo.feature_extractor(zoo.load("ssgan_digits"))
    features = trunk.predict(x, verbose=0)
    scaler = StandardScaler().fit(features)
    regression = LogisticRegression(max_iter=2000).fit(scaler.transform(features), y)
    reference = regression.score(scaler.transform(trunk.predict(xt, verbose=0)), yt)
    assert scores["pretrained"] > scores["random"] + 0.2, scores
    assert scores["frozen"] > reference - 0.08, (scores, reference)
