"""compare_gan's networks: sizes, any width and class count, serialization."""

import json
import pathlib
import tempfile

import keras
import numpy as np
import pytest

from keras_ssl.architectures import resnet_discriminator, resnet_generator
from keras_ssl.architectures.compare_gan_biggan import accumulate_standing_statistics
from tests.convert.reference_fixtures import compare_gan_counts
from tests.helpers import assert_keras_round_trip, random_inputs, reference_path


def _recorded(label_start):
    manifest = json.loads(reference_path("compare_gan", "manifest.json").read_text())
    for entry in manifest["full_size_counts"]:
        if entry["label"].startswith(label_start):
            return entry["counts"]
    raise KeyError(label_start)


FULL_SIZE = [
    (
        "resnet_cifar G (sBN",
        lambda: resnet_generator(
            32, style="resnet_cifar", normalization="self_modulated"
        ),
    ),
    (
        "resnet_cifar G (plain BN",
        lambda: resnet_generator(32, style="resnet_cifar", normalization="batch"),
    ),
    (
        "resnet_cifar D",
        lambda: resnet_discriminator(32, style="resnet_cifar", rotation_head=True),
    ),
    (
        "resnet5 G",
        lambda: resnet_generator(128, style="resnet5", normalization="self_modulated"),
    ),
    (
        "resnet5 D",
        lambda: resnet_discriminator(128, style="resnet5", rotation_head=True),
    ),
    pytest.param(
        "resnet_biggan G",
        lambda: resnet_generator(
            128, z_dim=120, num_classes=1000, style="resnet_biggan"
        ),
        marks=pytest.mark.slow,
    ),
    pytest.param(
        "resnet_biggan D (ch 96, 1000 classes, project_y=True",
        lambda: resnet_discriminator(
            128,
            num_classes=1000,
            style="resnet_biggan",
            rotation_head=True,
            class_head=True,
        ),
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize("label, build", FULL_SIZE)
def test_full_size_parameter_counts_equal_compare_gans(label, build):
    # Trainable and all (with SN vectors and BN statistics), per top scope.
    assert compare_gan_counts(build()) == _recorded(label)


@pytest.mark.parametrize("image_size", [32, pytest.param(64, marks=pytest.mark.slow)])
def test_biggan_works_at_any_width_and_class_count(image_size):
    g = resnet_generator(
        image_size, z_dim=20, base_channels=4, num_classes=7, style="resnet_biggan"
    )
    d = resnet_discriminator(
        image_size,
        base_channels=8,
        num_classes=7,
        style="resnet_biggan",
        rotation_head=True,
        class_head=True,
    )
    labels = np.array([0, 6, -1], "int32")
    images = g(
        [random_inputs((3, 20), seed=0), np.array([0, 6, 3], "int32")], training=True
    )
    assert tuple(images.shape) == (3, image_size, image_size, 3)
    assert np.abs(np.asarray(images)).max() <= 1.0
    out = d([np.asarray(images), labels], training=True)
    assert tuple(out["class_logits"].shape) == (3, 7)
    assert np.isfinite(np.asarray(out["logits"])).all()
    assert g.get_layer("generator.embed_y").kernel.shape == (7, 128)


def test_unknown_label_uses_the_predicted_class_in_s3gans_projection():
    d = resnet_discriminator(
        32,
        base_channels=8,
        num_classes=3,
        style="resnet_biggan",
        class_head=True,
        project_y=False,
    )
    images = random_inputs((4, 32, 32, 3), seed=0)
    first = d([images, -np.ones(4, "int32")])
    predicted = np.argmax(np.asarray(first["class_logits"]), -1).astype("int32")
    # One call for both (spectral norm advances u on every call here).
    both = d(
        [
            np.concatenate([images, images]),
            np.concatenate([-np.ones(4, "int32"), predicted]),
        ]
    )
    logits = np.asarray(both["logits"])
    np.testing.assert_allclose(logits[:4], logits[4:], atol=1e-5)


def test_conditional_resnet_cifar_uses_its_projection():
    g = resnet_generator(
        32, z_dim=8, base_channels=8, num_classes=5, style="resnet_cifar"
    )
    d = resnet_discriminator(32, base_channels=8, num_classes=5, style="resnet_cifar")
    assert g.get_layer("generator.B1.bn1").gamma.kernel.shape == (5, 8)
    images = random_inputs((2, 32, 32, 3), seed=0)
    a = np.asarray(d([images, np.array([0, 0])])["logits"])
    b = np.asarray(d([images, np.array([1, 1])])["logits"])
    assert np.abs(a - b).max() > 0


def _small_biggan_generator(**options):
    return resnet_generator(
        32, z_dim=20, base_channels=4, num_classes=3, style="resnet_biggan", **options
    )


def test_standing_statistics_of_one_batch_equal_batch_statistics():
    g = _small_biggan_generator(spectral_norm=False)
    filled = accumulate_standing_statistics(g, num_samples=16, batch_size=16, seed=3)
    assert filled == 2 * 3 + 1
    rng = np.random.default_rng(3)
    z = rng.standard_normal((16, 20)).astype("float32")
    labels = rng.integers(0, 3, size=16).astype("int32")
    inference = np.asarray(g([z, labels], training=False))
    training = np.asarray(g([z, labels], training=True))
    np.testing.assert_allclose(inference, training, atol=1e-4)


def test_round_trip_without_spectral_norm():
    g = _small_biggan_generator(spectral_norm=False, statistics="moving")
    assert_keras_round_trip(
        g, inputs=[random_inputs((2, 20), seed=0), np.array([1, 2], "int32")]
    )


@pytest.mark.parametrize(
    "build, inputs",
    [
        (
            _small_biggan_generator,
            lambda: [random_inputs((2, 20), seed=0), np.array([1, 2], "int32")],
        ),
        (
            lambda: resnet_discriminator(
                32, base_channels=4, style="resnet_cifar", rotation_head=True
            ),
            lambda: random_inputs((2, 32, 32, 3), seed=0),
        ),
    ],
)
def test_keras_round_trip_keeps_every_variable_and_output(build, inputs):
    # Spectral norm updates u on every call here (compare_gan), so both
    # models are compared from the same saved state.
    model = build()
    path = pathlib.Path(tempfile.mkdtemp()) / "network.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    x = inputs()
    expected = keras.tree.map_structure(np.asarray, model(x))
    actual = keras.tree.map_structure(np.asarray, restored(x))
    keras.tree.map_structure(
        lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), expected, actual
    )


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="image_size must be one of"):
        resnet_generator(64, style="resnet_cifar")
    with pytest.raises(ValueError, match="z_dim must be divisible by 6"):
        resnet_generator(128, z_dim=128, num_classes=3, style="resnet_biggan")
    with pytest.raises(ValueError, match="no self-attention"):
        resnet_discriminator(32, style="resnet_cifar", attention_resolution=16)
    with pytest.raises(ValueError, match="pools with 'mean'"):
        resnet_discriminator(32, style="resnet_cifar", pooling="sum")
    with pytest.raises(ValueError, match="resnet5 has no projection"):
        resnet_discriminator(128, base_channels=1, num_classes=3, style="resnet5")
    with pytest.raises(ValueError, match="1 or 3 channels"):
        resnet_discriminator(32, channels=2, style="resnet_cifar")


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, config",
    [
        ("ssgan", {"width": 8, "style": "resnet_cifar"}),
        ("s3gan", {"width": 4, "style": "resnet_biggan", "num_classes": 3}),
    ],
)
def test_gan_methods_train_with_compare_gan_networks(method, config):
    from keras_ssl.methods.registry import build_method

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    labels = rng.integers(0, 3, 8).astype("int32")
    model = build_method(method, image_size=32, **config)
    model.compile()
    history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())
