"""Mimicry's networks against outputs of Mimicry's own code (shared/reference)."""

import json

import keras
import numpy as np
import pytest

from keras_ssl.architectures.mimicry_resnet import (
    mimicry_discriminator,
    mimicry_generator,
)
from keras_ssl.convert import mimicry as mimicry_convert
from keras_ssl.layers.mimicry_spectral_normalization import (
    MimicrySpectralNormalization,
)
from keras_ssl.methods.cgan import ConditionalGAN
from keras_ssl.methods.ssgan import SSGAN
from keras_ssl.ops.rotation import rotate90
from tests.helpers import assert_keras_round_trip, reference_path

GENERATORS = ["sngan32_G", "ssgan32_G", "cganpd32_G", "ssgan48_G", "ssgan128_G"]
DISCRIMINATORS = ["sngan32_D", "ssgan32_D", "cganpd32_D", "ssgan48_D", "ssgan128_D"]
FIXTURES = GENERATORS + DISCRIMINATORS
ROTATION = ["ssgan32_D", "ssgan48_D", "ssgan128_D"]
IGNORED = (".num_batches_tracked", ".sn_sigma")
# Reached: outputs within 1e-5 (largest: 8.2e-6 on images in [-1, 1] and
# 7.2e-6 on logits up to 18), state within 4e-6 (BN running variances).
RTOL, ATOL = 1e-5, 2e-5


def load(name):
    """`(arrays, meta, state_dict)` of a Mimicry fixture."""
    return load_fixture(reference_path("mimicry", f"{name}.npz"))


def load_fixture(path):
    """`(arrays, meta, state_dict)` of the Mimicry fixture file `path`."""
    with np.load(path) as file:
        arrays = {key: file[key] for key in file.files}
    meta = json.loads(str(arrays["__meta__"]))
    state = {
        key: value
        for key, value in arrays.items()
        if not key.startswith(("input/", "output/", "after/", "__meta__"))
    }
    return arrays, meta, state


def kind(meta):
    """`(is_generator, image size, ssgan, conditional)` of a fixture's class."""
    name = meta["class"].rsplit(".", 1)[1]
    size = int(name[-3:]) if name.endswith("128") else int(name[-2:])
    return "Generator" in name, size, name.startswith("SSGAN"), "CGANPD" in name


def build(meta, args=None):
    """Our network with the fixture's (or the given) constructor arguments."""
    generator, size, ssgan, _ = kind(meta)
    args = meta["constructor_args"] if args is None else args
    if generator:
        return mimicry_generator(
            size,
            z_dim=args.get("nz", 128),
            base_channels=args["ngf"],
            num_classes=args.get("num_classes"),
        )
    return mimicry_discriminator(
        size,
        base_channels=args["ndf"],
        num_classes=args.get("num_classes"),
        rotation_head=ssgan,
    )


def nhwc(images):
    return np.transpose(images, (0, 2, 3, 1))


def inputs_of(arrays, meta, images="input/x"):
    generator = kind(meta)[0]
    first = arrays["input/z"] if generator else nhwc(arrays[images])
    if "input/y" in arrays:
        return [first, arrays["input/y"].astype("int32")]
    return first


def outputs_of(arrays, mode):
    if f"output/{mode}" in arrays:
        return {"output": arrays[f"output/{mode}"]}
    prefix = f"output/{mode}/"
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def ours(outputs, generator):
    if generator:
        return {"output": np.transpose(np.asarray(outputs), (0, 3, 1, 2))}
    return {key: np.asarray(value) for key, value in outputs.items()}


def converted(name):
    arrays, meta, state = load(name)
    network = build(meta)
    mimicry_convert.convert_mimicry(state, network)
    return arrays, meta, state, network


def assert_state(network, expected):
    actual = mimicry_convert.to_state_dict(network)
    names = [k for k in expected if not k.endswith(IGNORED)]
    assert sorted(names) == sorted(k for k in actual if not k.endswith(IGNORED))
    for key in names:
        np.testing.assert_allclose(
            actual[key], expected[key], rtol=RTOL, atol=ATOL, err_msg=key
        )


@pytest.mark.parametrize("name", FIXTURES)
def test_eval_mode_reproduces_mimicry_and_changes_nothing(name):
    arrays, meta, state, network = converted(name)
    generator = kind(meta)[0]
    outputs = ours(network(inputs_of(arrays, meta), training=False), generator)
    expected = outputs_of(arrays, "eval")
    for key, value in expected.items():
        key = "logits" if key == "output" and not generator else key
        np.testing.assert_allclose(
            outputs[key], value, rtol=RTOL, atol=ATOL, err_msg=f"{name} {key}"
        )
    assert_state(network, state)


@pytest.mark.parametrize("name", FIXTURES)
def test_train_mode_reproduces_outputs_and_updated_state(name):
    arrays, meta, state, network = converted(name)
    generator = kind(meta)[0]
    # Mimicry's SN writes the sigma of this pass to sn_sigma; we keep no
    # copy, but the layer computes the same value before the pass.
    sigmas = {
        f"{layer.name}.sn_sigma": float(layer.sigma(training=False))
        for layer in network.layers
        if isinstance(layer, MimicrySpectralNormalization)
    }
    outputs = ours(network(inputs_of(arrays, meta), training=True), generator)
    for key, value in outputs_of(arrays, "train").items():
        key = "logits" if key == "output" and not generator else key
        np.testing.assert_allclose(
            outputs[key], value, rtol=RTOL, atol=ATOL, err_msg=f"{name} {key}"
        )
    after = {
        key[len("after/train/") :]: value
        for key, value in arrays.items()
        if key.startswith("after/train/")
    }
    assert after, "the train pass of every fixture changes some state"
    expected = {**state, **after}
    assert_state(network, expected)
    for key, sigma in sigmas.items():
        np.testing.assert_allclose(sigma, expected[key][0], rtol=1e-5)


@pytest.mark.parametrize("name", ROTATION)
def test_rotation_head_on_mimicrys_rotated_batch(name):
    arrays, meta, state, network = converted(name)
    images = nhwc(arrays["input/x"])
    labels = arrays["input/rot_labels"]
    # Mimicry rotates image i by (i * 4 // N) * 90 degrees counter-clockwise.
    n = len(images)
    np.testing.assert_array_equal(labels, np.arange(n) * 4 // n)
    rotated = np.concatenate(
        [np.asarray(rotate90(images[i : i + 1], int(k))) for i, k in enumerate(labels)]
    )
    np.testing.assert_array_equal(rotated, nhwc(arrays["input/x_rot"]))
    outputs = network(rotated, training=False)
    for key in ("logits", "rotation_logits"):
        np.testing.assert_allclose(
            np.asarray(outputs[key]),
            arrays[f"output/eval_rot/{key}"],
            rtol=RTOL,
            atol=ATOL,
        )


def count(network):
    return int(sum(np.prod(v.shape) for v in network.trainable_weights))


@pytest.mark.parametrize("name", FIXTURES)
def test_full_size_matches_mimicry(name):
    """Default widths give Mimicry's parameter count and every state-dict shape."""
    _, meta, _ = load(name)
    generator, size, ssgan, conditional = kind(meta)
    full = meta["full_size"]
    num_classes = full["constructor_args"].get("num_classes")
    if generator:
        network = mimicry_generator(size, num_classes=num_classes)
    else:
        network = mimicry_discriminator(
            size, num_classes=num_classes, rotation_head=ssgan
        )
    assert count(network) == full["trainable_params"]
    assert count(network) == count(build(meta, full["constructor_args"]))
    if "state_dict_shapes" in full:
        shapes = {
            k: tuple(v.shape)
            for k, v in mimicry_convert.to_state_dict(network).items()
            if not k.endswith(IGNORED)
        }
        expected = {
            k: tuple(v)
            for k, v in full["state_dict_shapes"].items()
            if not k.endswith(IGNORED)
        }
        assert shapes == expected


def test_any_width_channels_and_classes_round_trip_through_mimicrys_layout():
    rng = np.random.default_rng(0)
    for size in (48,):
        g = mimicry_generator(
            size, z_dim=8, base_channels=16, channels=1, num_classes=3
        )
        d = mimicry_discriminator(size, base_channels=16, channels=1, num_classes=7)
        z = rng.normal(size=(2, 8)).astype("float32")
        images = np.asarray(g([z, np.array([0, 2], "int32")]))
        assert images.shape == (2, size, size, 1)
        assert np.all(np.abs(images) <= 1)
        logits = d([images, np.array([6, 1], "int32")])["logits"]
        assert tuple(logits.shape) == (2, 1)
        for network, inputs in (
            (g, [z, np.array([0, 2], "int32")]),
            (d, [images, np.array([6, 1], "int32")]),
        ):
            copy = keras.models.clone_model(network)
            mimicry_convert.convert_mimicry(
                mimicry_convert.to_state_dict(network), copy
            )
            for a, b in zip(
                keras.tree.flatten(network(inputs)), keras.tree.flatten(copy(inputs))
            ):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def test_default_head_spectral_norm_follows_mimicrys_imports():
    def heads(network):
        return {
            layer.name: type(layer).__name__
            for layer in network.layers
            if layer.name == "l_y" or layer.name[1:].isdigit()
        }

    sn = "TorchSpectralNormalization"
    own = "MimicrySpectralNormalization"
    assert heads(mimicry_discriminator(32, 8)) == {"l5": sn}
    assert heads(mimicry_discriminator(32, 8, rotation_head=True)) == {
        "l5": own,
        "l_y": own,
    }
    assert heads(mimicry_discriminator(32, 8, num_classes=3)) == {
        "l5": own,
        "l_y": own,
    }
    assert heads(mimicry_discriminator(128, 16, num_classes=3)) == {
        "l7": sn,
        "l_y": sn,
    }
    assert heads(
        mimicry_discriminator(48, 16, rotation_head=True, head_spectral_norm="mimicry")
    ) == {"l5": own, "l_y": own}


@pytest.mark.parametrize(
    "builder, kwargs, match",
    [
        (mimicry_generator, {"normalization": "self_modulated"}, "self-modulated"),
        (mimicry_generator, {"spectral_norm": True}, "no spectral norm"),
        (mimicry_generator, {"attention_resolution": 16}, "no self-attention"),
        (mimicry_generator, {"style": "biggan"}, "style='mimicry'"),
        (mimicry_generator, {"normalization": "conditional"}, "normalization='batch'"),
        (mimicry_generator, {"base_channels": 4, "image_size": 48}, "at least 8"),
        (mimicry_discriminator, {"spectral_norm": False}, "spectrally normalised"),
        (mimicry_discriminator, {"class_head": True}, "no classifier head"),
        (mimicry_discriminator, {"pooling": "mean"}, "sum pooling"),
        (
            mimicry_discriminator,
            {"rotation_head": True, "num_classes": 10},
            "both a rotation head and a projection",
        ),
        (mimicry_discriminator, {"head_spectral_norm": "keras"}, "head_spectral_norm"),
        (mimicry_discriminator, {"image_size": 96}, "image_size must be one of"),
    ],
)
def test_rejects_what_mimicrys_networks_do_not_have(builder, kwargs, match):
    kwargs = dict(kwargs)
    size = kwargs.pop("image_size", 32)
    with pytest.raises(ValueError, match=match):
        builder(size, **kwargs)


def test_keras_round_trip(tmp_path):
    g = mimicry_generator(32, z_dim=8, base_channels=8, num_classes=3)
    z = np.random.default_rng(1).normal(size=(2, 8)).astype("float32")
    assert_keras_round_trip(g, inputs=[z, np.array([0, 2], "int32")], tmp_path=tmp_path)
    d = mimicry_discriminator(32, base_channels=8, rotation_head=True)
    images = np.random.default_rng(2).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    assert_keras_round_trip(d, inputs=images, tmp_path=tmp_path)


def _images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 32, 32, 3)).astype("float32")


def test_the_gan_methods_train_with_them():
    """SSGAN (a GAN subclass) and the projection cGAN take Mimicry's networks."""
    models = [
        SSGAN(
            mimicry_generator(32, 8, 8),
            mimicry_discriminator(32, 8, rotation_head=True),
            loss="hinge",
        ),
        ConditionalGAN(
            mimicry_generator(32, 8, 8, num_classes=3),
            mimicry_discriminator(32, 8, num_classes=3),
            num_classes=3,
        ),
    ]
    labels = np.arange(8, dtype="int32") % 3
    for model in models:
        model.compile()
        variables = model.discriminator.weights
        before = [np.array(v) for v in variables]
        y = labels if model.num_classes else None
        logs = model.fit(_images(8), y, batch_size=8, epochs=2, verbose=0).history
        assert all(np.isfinite(v[-1]) for v in logs.values()), logs
        # Kernels moved by the optimizer, SN vectors by the power iteration of
        # each training call (a 1-vector stays +-1; biases are left out, as a
        # hinge loss may push a bias equally up and down).
        for variable, old in zip(variables, before, strict=True):
            if variable.name in ("kernel", "embeddings", "u", "v") and old.size > 1:
                assert not np.array_equal(np.array(variable), old), variable.path


@pytest.mark.slow
def test_ssgan_rotation_head_learns():
    model = SSGAN(
        mimicry_generator(32, 8, 8),
        mimicry_discriminator(32, 8, rotation_head=True),
        loss="hinge",
    )
    model.compile(
        g_optimizer=keras.optimizers.Adam(2e-4, 0.0, 0.9),
        d_optimizer=keras.optimizers.Adam(2e-3, 0.0, 0.9),
    )
    # Images with a clear orientation: a bright top row.
    images = _images(16, seed=3) * 0.2
    images[:, :4] = 1.0
    logs = model.fit(images, batch_size=16, epochs=30, verbose=0).history
    loss = logs["d_rotation_loss"]
    assert loss[-1] < 0.5 * loss[0], loss
