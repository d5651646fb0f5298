"""Every built-in preset: its file, its recipe and an untrained forward pass."""

import os

import numpy as np
import pytest
import yaml

from keras_ssl import zoo
from keras_ssl.training.config import resolve_config
from keras_ssl.zoo import weights as weights_module
from tests.helpers import REPO_ROOT

BUILTIN = [name for name in zoo.list_presets() if not name.startswith("toy_")]
FAST = [name for name in BUILTIN if not zoo.get_preset(name).slow]
SLOW = [name for name in BUILTIN if zoo.get_preset(name).slow]

REQUIRED = {
    "ssgan_cifar10",
    "ssgan_imagenet",
    "s3gan_imagenet",
    "gan_cifar10",
    "cgan_cifar10",
    "rotnet_cifar10",
}


def test_required_presets_exist():
    assert REQUIRED <= set(BUILTIN)


def test_every_method_has_a_preset():
    import importlib
    import pkgutil

    import keras_ssl.methods
    from keras_ssl.methods import list_methods

    # Methods register on import; import every method module there is.
    for module in pkgutil.iter_modules(keras_ssl.methods.__path__):
        importlib.import_module(f"keras_ssl.methods.{module.name}")

    covered = {zoo.get_preset(name).method for name in BUILTIN}
    methods = {m for m in list_methods() if not m.startswith("toy_")}
    assert methods <= covered, sorted(methods - covered)


@pytest.mark.parametrize("name", BUILTIN)
def test_preset_files_agree(name):
    preset = zoo.get_preset(name)
    assert name.startswith(preset.method + "_"), "presets are <method>_<dataset>"
    assert preset.description and preset.paper and preset.architecture
    recipe_path = REPO_ROOT / preset.recipe_path
    with open(recipe_path, encoding="utf-8") as file:
        assert yaml.safe_load(file) == preset.recipe
    resolve_config(str(recipe_path))
    assert (REPO_ROOT / "zoo" / name / "MODEL_CARD.md").exists()
    if preset.has_weights:
        # Published weights come with the measurements of the run behind them.
        assert preset.results
        assert (REPO_ROOT / "zoo" / name / "results.json").exists()
        if "file" in preset.weights:
            path = os.path.join(weights_module.WEIGHTS_DIR, preset.weights["file"])
            assert weights_module.sha256_of(path) == preset.weights["sha256"]
    else:
        assert not preset.results


def forward(name):
    preset = zoo.get_preset(name)
    model = zoo.load(name, weights=None)
    size, channels = preset.image_size, preset.channels
    images = np.random.default_rng(0).uniform(-1, 1, (2, size, size, channels))
    encoder = zoo.feature_extractor(model, (size, size, channels))
    features = encoder(images.astype("float32"))
    features = np.asarray(features)
    assert features.shape[0] == 2 and np.all(np.isfinite(features))
    if callable(getattr(model, "generate", None)):
        labels = None if preset.num_classes is None else np.array([0, 1])
        samples = np.asarray(model.generate(2, labels=labels, seed=0))
        assert samples.shape == (2, size, size, channels)
        assert samples.dtype == np.uint8
    return model


@pytest.mark.parametrize("name", FAST)
def test_builds_untrained_and_runs(name):
    forward(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_large_presets_build_untrained_and_run(name):
    forward(name)


@pytest.mark.parametrize("name", BUILTIN)
def test_no_random_weights_passed_off_as_pretrained(name):
    if zoo.get_preset(name).has_weights:
        pytest.skip("has published weights")
    with pytest.raises(ValueError, match="has no published weights"):
        zoo.load(name)


@pytest.mark.parametrize("name", BUILTIN)
def test_shipped_weights_reproduce_their_recorded_outputs(name):
    preset = zoo.get_preset(name)
    if not preset.has_weights:
        pytest.skip("no published weights")
    model = zoo.load(name)
    shape = (preset.image_size, preset.image_size, preset.channels)
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype("float32")
    features = np.asarray(zoo.feature_extractor(model, shape)(inputs)).reshape(-1)
    recorded = preset.results["reference_output"]
    np.testing.assert_allclose(
        features[:8], recorded["features_first"], rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        features.sum(), recorded["features_sum"], rtol=1e-4, atol=1e-3
    )
