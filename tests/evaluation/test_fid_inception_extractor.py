"""The "fid_inception" extractor: cached conversion, offline errors, the CLI,
batch-size independence and extractor bookkeeping of statistics."""

import json
import os

import keras
import numpy as np
import pytest

from keras_ssl import cli, evaluation
from keras_ssl.architectures import fid_inception_v3
from keras_ssl.convert import readers
from keras_ssl.evaluation import (
    FID_WEIGHTS_URL,
    FeatureStatistics,
    WeightsUnavailableError,
    compute_statistics,
    extractors,
    fid,
    fid_inception_extractor,
    get_extractor,
)
from tests.convert.test_fid_inception import fixture_state_dict
from tests.helpers import reference_path


@pytest.fixture(autouse=True)
def isolated_caches(monkeypatch, tmp_path):
    """No test reads or writes the user's caches, nor touches the network."""
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    extractors._built.clear()

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://...: None -- [Errno -3]")

    monkeypatch.setattr("keras_ssl.zoo.weights.download", offline)
    yield
    extractors._built.clear()


def _fixture_outputs():
    with np.load(reference_path("fid_inception", "fid_inception.npz")) as data:
        return 2.0 * data["x32_nhwc"] - 1.0, data["x32_pool3"], data["x32_logits"]


def test_missing_weights_name_what_is_missing_and_the_ways_out():
    with pytest.raises(WeightsUnavailableError) as info:
        fid_inception_extractor()
    message = str(info.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in message
    assert FID_WEIGHTS_URL in message
    assert "--fid-weights" in message and "--extractor domain" in message
    assert os.environ["TORCH_HOME"] in message  # where pytorch-fid puts it
    with pytest.raises(WeightsUnavailableError, match="Downloading failed"):
        fid_inception_extractor(download=True)
    with pytest.raises(WeightsUnavailableError, match="not found"):
        fid_inception_extractor(weights="missing.pth")
    with pytest.raises(ValueError, match="extractor must be one of"):
        get_extractor("inception")


def test_keras_inception_offline_is_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(WeightsUnavailableError, match="--extractor domain"):
        get_extractor("inception_keras")


def test_npz_state_dict_is_converted_once_and_cached(tmp_path, monkeypatch):
    path = tmp_path / "fid_state_dict.npz"
    np.savez(path, **fixture_state_dict())
    extractor = fid_inception_extractor(weights=str(path))
    images, pool3, logits = _fixture_outputs()
    out = extractor.predict_on_batch(images)
    scale = np.abs(pool3).max()
    assert np.abs(out["features"] - pool3).max() <= 1e-5 * scale
    assert np.abs(out["logits"] - logits).max() <= 1e-5 * np.abs(logits).max()
    converted = os.path.join(os.environ["KERAS_SSL_HOME"], "converted")
    names = sorted(os.listdir(converted))
    h5 = [n for n in names if n.endswith(".weights.h5")]
    assert len(h5) == 1 and h5[0] + ".sha256" in names
    # Not the official file name: it does not become the default.
    assert "fid_inception-default.txt" not in names

    extractors._built.clear()

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr("keras_ssl.convert.convert", no_conversion)
    again = fid_inception_extractor(weights=str(path))
    assert again.extractor_id == extractor.extractor_id
    np.testing.assert_allclose(
        again.predict_on_batch(images)["features"], out["features"], atol=1e-5
    )
    # A corrupted cache is noticed (sha256 recorded beside it).
    with open(os.path.join(converted, h5[0]), "ab") as file:
        file.write(b"x")
    assert not extractors._intact(os.path.join(converted, h5[0]))


def test_pytorch_fid_file_needs_torch_only_once(monkeypatch):
    torch = pytest.importorskip("torch")
    checkpoints = os.path.join(os.environ["TORCH_HOME"], "hub", "checkpoints")
    os.makedirs(checkpoints)
    original = os.path.join(checkpoints, extractors.FID_WEIGHTS_FILENAME)
    torch.save(
        {k: torch.from_numpy(v) for k, v in fixture_state_dict().items()}, original
    )
    # pytorch-fid's download in torch.hub's cache is found and converted.
    first = fid_inception_extractor()
    images, pool3, _ = _fixture_outputs()
    features = first.predict_on_batch(images)["features"]
    assert np.abs(features - pool3).max() <= 1e-5 * np.abs(pool3).max()

    # Afterwards neither torch nor the original file is needed.
    os.remove(original)
    extractors._built.clear()

    def no_torch():
        raise ImportError("no torch here")

    monkeypatch.setattr(readers, "import_torch", no_torch)
    second = get_extractor("fid_inception")
    assert second is not first and second.extractor_id == first.extractor_id
    np.testing.assert_allclose(
        second.predict_on_batch(images)["features"], features, atol=1e-5
    )


def _small_network():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


class SeededGenerator:
    def __init__(self):
        self.calls = []

    def generate(self, n, seed=None):
        self.calls.append(n)
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, (n, 16, 16, 3)).astype(np.uint8)


def test_results_do_not_depend_on_batch_size():
    network = _small_network()
    images = np.random.default_rng(0).uniform(-1, 1, (100, 16, 16, 3))
    images = images.astype("float32")
    one = compute_statistics(images, network, batch_size=1, verbose=False)
    hundred = compute_statistics(images, network, batch_size=100, verbose=False)
    np.testing.assert_allclose(one.mean, hundred.mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(one.covariance, hundred.covariance, rtol=1e-5, atol=1e-9)
    assert one.mean.dtype == np.float64
    # A seeded generator gives the same samples (chunks of 100) at any batch.
    a, b = SeededGenerator(), SeededGenerator()
    stats = compute_statistics(images[:50], network, verbose=False)
    fid_1 = fid(a, stats, network, num_samples=150, batch_size=1, seed=3, verbose=False)
    fid_100 = fid(
        b, stats, network, num_samples=150, batch_size=100, seed=3, verbose=False
    )
    assert a.calls == b.calls == [100, 50]
    assert fid_1 == pytest.approx(fid_100, rel=1e-5)


def test_statistics_remember_their_extractor(tmp_path):
    network = fid_inception_extractor(weights=None)
    assert network.extractor_id == "fid_inception:random"
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), np.uint8)
    stats = compute_statistics(images, network, verbose=False, keep_features=4)
    assert stats.extractor == "fid_inception:random" and stats.dim == 2048
    stats.save(tmp_path / "stats.npz")
    loaded = FeatureStatistics.load(tmp_path / "stats.npz")
    assert loaded.extractor == "fid_inception:random"
    assert "fid_inception:random" in repr(loaded)
    other = keras.Model(network.inputs, network.outputs)
    other.extractor_id = "fid_inception:0123456789abcdef"
    with pytest.raises(ValueError, match="another feature extractor"):
        fid(images, loaded, other, verbose=False)
    with pytest.raises(ValueError, match="another feature extractor"):
        FeatureStatistics(extractor="x").merge(loaded)


def _json_of(stdout):
    """The JSON the command prints last (after any progress bar)."""
    start = 0 if stdout.startswith("{") else stdout.rindex("\n{\n") + 1
    return json.loads(stdout[start:])


def test_cli_offline_without_weights_is_a_message_not_a_traceback(capsys):
    code = cli.main(["evaluate", "ssgan_digits", "--num-samples", "4"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-ssl evaluate: error: The FID Inception weights")
    assert "--extractor domain" in err and "Traceback" not in err


@pytest.mark.slow
def test_cli_save_stats_then_fid_against_them(tmp_path, capsys):
    weights = tmp_path / "random.weights.h5"
    keras.utils.set_random_seed(0)
    fid_inception_v3(name="fid_inception_extractor").save_weights(weights)
    stats_path = tmp_path / "digits-test.npz"
    common = ["--fid-weights", str(weights)]
    code = cli.main(
        ["evaluate", "ssgan_digits", *common, "--split", "test", "--limit", "12"]
        + ["--save-stats", str(stats_path), "--batch-size", "6"]
    )
    assert code == 0
    saved = _json_of(capsys.readouterr().out)
    assert saved["count"] == 12 and saved["dim"] == 2048
    assert saved["extractor"].startswith("fid_inception:")
    stats = FeatureStatistics.load(stats_path)
    assert stats.count == 12 and stats.features.shape == (12, 2048)
    out = tmp_path / "fid.json"
    code = cli.main(
        ["evaluate", "ssgan_digits", *common, "--reference-stats", str(stats_path)]
        + ["--num-samples", "12", "--batch-size", "6", "--out", str(out)]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["fid"] > 0 and result["extractor"] == saved["extractor"]
    assert result["reference_stats"] == str(stats_path)
    capsys.readouterr()
    code = cli.main(
        ["evaluate", "ssgan_digits", *common, "--metric", "is"]
        + ["--num-samples", "10", "--batch-size", "5"]
    )
    assert code == 0
    score = _json_of(capsys.readouterr().out)["is"]
    assert score["mean"] >= 1.0
    assert evaluation.extractor_id("fid_inception") == "fid_inception"
