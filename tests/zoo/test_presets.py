"""Every built-in preset: its file, its recipe and an untrained forward pass."""

import importlib.util
import json
import os
import types

import keras
import numpy as np
import pytest
import yaml

from keras_ssl import zoo
from keras_ssl.training.config import resolve_config
from keras_ssl.training.runner import _build_model
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
    # The packaged YAML is the one source of a preset's recipe; the zoo/
    # folder holds the model card and measured results (and a generated
    # copy of the recipe, which must match).
    preset = zoo.get_preset(name)
    # <method>_<dataset>, or <source>_<variant>_<dataset> for converted
    # releases (mimicry_sngan_cifar10 of `gan`, mimicry_cganpd_cifar10).
    assert preset.method in name, "presets are [<source>_]<method>_<dataset>"
    assert preset.description and preset.paper and preset.architecture
    resolve_config(preset.recipe)
    folder = REPO_ROOT / "zoo" / name
    if (folder / "recipe.yaml").exists():
        with open(folder / "recipe.yaml", encoding="utf-8") as file:
            assert yaml.safe_load(file) == preset.recipe
    if preset.weights is not None and "file" in preset.weights:
        # Self-trained weights come with the measurements of the run.
        assert preset.results
        assert (folder / "results.json").exists()
        path = os.path.join(weights_module.WEIGHTS_DIR, preset.weights["file"])
        assert weights_module.sha256_of(path) == preset.weights["sha256"]
    elif not preset.has_weights:
        assert not preset.results
    if folder.exists():
        # The files are the tool's output, so none of their numbers is typed.
        tool = train_presets_tool()
        with open(folder / "MODEL_CARD.md", encoding="utf-8") as file:
            assert file.read() == tool.model_card(preset)


def train_presets_tool():
    path = REPO_ROOT / "tools" / "train_presets.py"
    spec = importlib.util.spec_from_file_location("train_presets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", BUILTIN)
def test_unshipped_results_come_from_the_recorded_run(name):
    preset = zoo.get_preset(name)
    path = REPO_ROOT / "zoo" / name / "results.json"
    recorded = REPO_ROOT / "tools" / "results" / f"{name}.json"
    if preset.has_weights:
        pytest.skip("published weights: checked by test_preset_files_agree")
    if not recorded.exists():
        assert not path.exists()
        return
    with open(path, encoding="utf-8") as file:
        results = json.load(file)
    with open(recorded, encoding="utf-8") as file:
        record = json.load(file)
    assert results["weights"] is None
    assert results["label"].startswith("Reduced-budget run, no weights shipped")
    assert results["metrics"] == record["metrics"]
    assert results["setup"] == record["setup"]
    assert results == train_presets_tool().unshipped_results(preset)


def _recipe_model(name):
    """The preset's method; 128x128 networks narrowed (the batch rule is the same)."""
    preset = zoo.get_preset(name)
    if not preset.slow:
        return zoo.load(name, weights=None)
    return zoo.load(name, weights=None, width=1, image_size=32)


@pytest.mark.parametrize("name", BUILTIN)
def test_recipe_batch_size_is_accepted_by_the_method(name):
    preset = zoo.get_preset(name)
    batch = preset.recipe["train"]["batch_size"]
    assert isinstance(batch, int) and batch > 0
    model = _recipe_model(name)
    if not hasattr(model, "check_batch"):
        return
    # check_batch reads only the shape: a 4096 x 128 x 128 batch need not exist.
    images = types.SimpleNamespace(shape=(batch, *model.image_shape))
    labels = None if preset.num_classes is None else np.zeros(batch, "int32")
    model.check_batch(images, labels)
    if getattr(model, "n_disc", 1) > 1:
        # The paper's D batch is what each of the n_disc updates sees.
        assert batch % model.n_disc == 0


def test_check_batch_rejects_the_old_gan_recipe_batch():
    model = zoo.load("ssgan_cifar10", weights=None)
    images = types.SimpleNamespace(shape=(64, *model.image_shape))
    with pytest.raises(ValueError, match="divisible by 20"):
        model.check_batch(images)


def test_gan_recipes_match_the_papers_settings():
    for name in ("gan_cifar10", "ssgan_cifar10", "cgan_cifar10", "s3gan_cifar10"):
        recipe = zoo.get_preset(name).recipe
        d_batch = recipe["train"]["batch_size"] // recipe["model"]["n_disc"]
        assert (d_batch, recipe["model"]["n_disc"]) == (64, 5), name
        assert recipe["train"]["steps"] == 40000, name
    recipe = zoo.get_preset("s3gan_imagenet").recipe
    assert recipe["train"]["batch_size"] // recipe["model"]["n_disc"] == 2048
    assert recipe["model"]["n_disc"] == 2 and recipe["model"]["z_dim"] == 120
    assert recipe["model"]["ema_decay"] == 0.9999
    assert recipe["train"]["steps"] == 250000


def test_rotnet_recipe_resolves_into_the_papers_sgd_schedule():
    recipe_path = REPO_ROOT / zoo.get_preset("rotnet_cifar10").recipe_path
    config = resolve_config(str(recipe_path))
    model = _build_model(config, None, 32, 3, "float32")
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.nesterov and optimizer.momentum == 0.9
    assert optimizer.weight_decay == 5e-4
    schedule = optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.PiecewiseConstantDecay)
    steps_per_epoch = -(-50000 // config["train"]["batch_size"])
    assert config["train"]["steps"] == 200 * steps_per_epoch
    for epoch, rate in ((0, 0.1), (59, 0.1), (61, 0.02), (121, 0.004), (161, 0.0008)):
        value = float(schedule(epoch * steps_per_epoch + 1))
        np.testing.assert_allclose(value, rate, rtol=1e-6)


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
    if preset.weights is None:
        # The authors' release is downloaded and converted on first use;
        # tests/zoo/test_originals.py covers that path with fixture files.
        pytest.skip("converted from the authors' release (needs a download)")
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
    if "generate_mean" in recorded:
        images = np.asarray(model.generate(8, seed=0)).astype("float64")
        # uint8 rounding may move a pixel by one step on another CPU.
        np.testing.assert_allclose(images.mean(), recorded["generate_mean"], atol=0.5)
        np.testing.assert_allclose(
            images.reshape(-1)[:8], recorded["generate_first"], atol=1.0
        )


# The preset that makes the shipped-weights path real: small enough for the
# package and for the fast suite, so these never skip.
SHIPPED = "ssgan_digits"


def test_a_preset_ships_weights_in_the_package():
    preset = zoo.get_preset(SHIPPED)
    assert preset.has_weights and "file" in preset.weights
    path = os.path.join(weights_module.WEIGHTS_DIR, preset.weights["file"])
    assert os.path.isfile(path)
    assert os.path.getsize(path) < 2**20
    assert weights_module.sha256_of(path) == preset.weights["sha256"]
    assert zoo.info(SHIPPED)["weights_available"]


def test_shipped_ssgan_digits_reproduces_its_recorded_outputs():
    test_shipped_weights_reproduce_their_recorded_outputs(SHIPPED)


def test_shipped_ssgan_digits_differs_from_an_untrained_build():
    trained = zoo.load(SHIPPED)
    untrained = zoo.load(SHIPPED, weights=None)
    a = np.asarray(trained.generate(8, seed=0)).astype("float64")
    b = np.asarray(untrained.generate(8, seed=0)).astype("float64")
    assert np.abs(a - b).mean() > 5.0


def test_shipped_ssgan_digits_results_record_a_learning_run():
    preset = zoo.get_preset(SHIPPED)
    metrics = preset.results["metrics"]
    # Measured by tools/train_presets.py: training moved the generated digits
    # closer to real ones than the same network at initialisation.
    assert metrics["fid_domain_features"] < metrics["untrained_fid_domain_features"]
    assert preset.results["setup"]["steps"] == preset.recipe["train"]["steps"]
    with open(REPO_ROOT / "zoo" / SHIPPED / "results.json", encoding="utf-8") as f:
        results = json.load(f)
    with open(
        REPO_ROOT / "tools" / "results" / f"{SHIPPED}.json", encoding="utf-8"
    ) as f:
        record = json.load(f)
    assert results["metrics"] == record["metrics"] == metrics
    assert results["weights"] == preset.weights


def test_shipped_ssgan_digits_classifier_builds_on_the_discriminator_trunk():
    model = zoo.classifier(SHIPPED, num_classes=10)
    images = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 1))
    probabilities = np.asarray(model(images.astype("float32")))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
