"""The compare_gan presets load a TF-Hub module archive by name (no network).

The module stands in for the download: our own random-weight generator at a
reduced width, written under compare_gan's variable names in a TF-Hub module
layout and packed as TF-Hub serves it (`.tar.gz`).
"""

import tarfile

import numpy as np
import pytest

from keras_ssl import zoo
from keras_ssl.convert.compare_gan import network_values, save_compare_gan_checkpoint


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "cache"))


def _module_archive(tmp_path, network, name, seed=0):
    rng = np.random.default_rng(seed)
    values = {}
    for key, value in network_values(network).items():
        if value.dtype.kind == "f":
            changed = value + 0.1 * rng.normal(size=value.shape)
            if key.endswith(("variance", "counter")):
                changed = np.abs(changed) + 0.5
            value = changed.astype(value.dtype)
        values[key] = value
    folder = tmp_path / name
    save_compare_gan_checkpoint(values, folder / "variables" / "variables")
    archive = tmp_path / f"{name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "variables", arcname="./variables")
    return archive, values


def _assert_loaded(network, values):
    for name, value in network_values(network).items():
        np.testing.assert_array_equal(value, values[name], err_msg=name)


def test_ssgan_imagenet_loads_the_compare_gan_module(tmp_path):
    untrained = zoo.load("ssgan_imagenet", weights=None, width=1)
    archive, values = _module_archive(tmp_path, untrained.generator, "ssgan_module")
    model = zoo.load("ssgan_imagenet", weights=str(archive), width=1)
    _assert_loaded(model.generator, values)
    images = model.generate(2, seed=0)
    assert images.shape == (2, 128, 128, 3) and images.dtype == np.uint8
    assert images.std() > 0
    # Converted once, then read from the cache.
    again = zoo.load("ssgan_imagenet", weights=str(archive), width=1)
    _assert_loaded(again.generator, values)


@pytest.mark.slow
def test_s3gan_preset_fills_the_generator_that_samples(tmp_path):
    # D's attention block needs ch >= 8 (C / 8 channels).
    overrides = {"width": 8, "num_classes": 5}
    untrained = zoo.load("s3gan_imagenet_10", weights=None, **overrides)
    archive, values = _module_archive(tmp_path, untrained.ema_generator, "s3gan_module")
    model = zoo.load("s3gan_imagenet_10", weights=str(archive), **overrides)
    _assert_loaded(model.ema_generator, values)
    assert model.generate(2, labels=[0, 4], seed=0).shape == (2, 128, 128, 3)


def test_a_module_of_another_architecture_is_refused(tmp_path):
    untrained = zoo.load("ssgan_imagenet", weights=None, width=1)
    archive, _ = _module_archive(tmp_path, untrained.generator, "narrow_module")
    with pytest.raises(ValueError, match="mismatched shapes"):
        zoo.load("ssgan_imagenet", weights=str(archive), width=2)


@pytest.mark.parametrize(
    "name, fid",
    [
        ("ssgan_imagenet", 20.6),
        ("s3gan_imagenet_2_5", 12.6),
        ("s3gan_imagenet_5", 8.4),
        ("s3gan_imagenet_10", 7.6),
        ("s3gan_imagenet_20", 6.9),
    ],
)
def test_presets_record_the_release(name, fid):
    original = zoo.get_preset(name).original
    assert original["format"] == "compare_gan_tf"
    assert original["license"] == "Apache-2.0"
    assert original["published"]["FID"] == fid
    assert original["url"].startswith("https://tfhub.dev/google/compare_gan/")
