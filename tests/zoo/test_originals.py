"""A preset that converts the authors' release: fetched once, converted, cached."""

import numpy as np
import pytest

from keras_ssl import zoo
from keras_ssl.convert import ConversionError, assign_by_name
from keras_ssl.convert import core as convert_core
from keras_ssl.zoo import originals
from keras_ssl.zoo import weights as weights_module
from tests.zoo.test_registry import local_server
from tests.zoo.toy_methods import TOY_PRESETS

CALLS = []


def _toy_converter(source, network, scale=1.0):
    """Reads `{w<i>: array}` from an .npz, as a real format reads its names."""
    CALLS.append(source)
    values = {k: v * scale for k, v in np.load(source).items()}
    mapping = {f"w{i}": variable for i, variable in enumerate(network.weights)}
    assign_by_name(mapping, values, source=source)
    return network


def _original(**fields):
    entry = {
        "format": "toy_npz",
        "network": "encoder",
        "filename": "toy_release.npz",
        "url": None,
        "page": "https://example.org/toy-release",
        "sha256": None,
        "license": "MIT",
        "options": {"scale": 2.0},
    }
    entry.update(fields)
    return entry


@pytest.fixture(autouse=True)
def toy_world(monkeypatch, tmp_path):
    CALLS.clear()
    monkeypatch.setattr(convert_core, "_formats", lambda: {"toy_npz": _toy_converter})
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    names = []

    def register(**fields):
        preset = dict(TOY_PRESETS[1], name=f"toy_original_{len(names)}", **fields)
        names.append(zoo.register(preset).name)
        return names[-1]

    yield register
    for name in names:
        zoo.unregister(name)


def _release(tmp_path, name, seed=1):
    """An 'original file': every encoder variable as `w<i>`, seeded."""
    model = zoo.load(name, weights=None)
    rng = np.random.default_rng(seed)
    values = {
        f"w{i}": rng.normal(size=v.shape).astype("float32")
        for i, v in enumerate(model.encoder.weights)
    }
    path = tmp_path / "toy_release.npz"
    np.savez(path, **values)
    return path, values


def test_local_original_is_converted_once_then_cached(tmp_path, toy_world):
    name = toy_world(original=_original())
    path, values = _release(tmp_path, name)
    model = zoo.load(name, weights=str(path))
    for i, variable in enumerate(model.encoder.weights):
        np.testing.assert_allclose(variable.numpy(), 2.0 * values[f"w{i}"])
    assert len(CALLS) == 1
    digest = weights_module.sha256_of(path)
    cached = originals.converted_path(zoo.get_preset(name), digest)
    assert cached.endswith(".weights.h5") and (tmp_path / "cache").exists()
    again = zoo.load(name, weights=str(path))
    assert len(CALLS) == 1  # the cache served the second load
    for a, b in zip(model.encoder.weights, again.encoder.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert zoo.info(name)["weights_available"]


def test_no_link_and_no_file_says_where_to_get_it(toy_world):
    name = toy_world(original=_original())
    with pytest.raises(FileNotFoundError) as info:
        zoo.load(name)
    message = str(info.value)
    assert "https://example.org/toy-release" in message
    assert f'zoo.load("{name}", weights="path/to/toy_release.npz")' in message
    with pytest.raises(FileNotFoundError, match="Original weights not found"):
        zoo.load(name, weights="/nonexistent/toy_release.npz")


def test_download_from_a_local_server_is_recorded_and_checked(tmp_path, toy_world):
    with local_server(tmp_path) as (server, base):
        name = toy_world(original=_original(url=f"{base}/toy_release.npz"))
        path, values = _release(tmp_path, name)
        model = zoo.load(name)
        zoo.load(name)
        assert server.requests == [f"/{path.name}"]
        assert len(CALLS) == 1
    variable = model.encoder.weights[0]
    np.testing.assert_allclose(variable.numpy(), 2.0 * values["w0"])
    # The digest of the first download is recorded; a changed file is refused.
    downloaded = tmp_path / "cache" / path.name
    assert (tmp_path / "cache" / (path.name + ".sha256")).exists()
    np.savez(downloaded, **{k: v + 1 for k, v in values.items()})
    with pytest.raises(ValueError, match="has sha256"):
        zoo.load(name)


def test_offline_download_error_says_how_to_pass_the_file(tmp_path, toy_world):
    # Port 9 on loopback: nothing listens, the fetch fails at once.
    name = toy_world(original=_original(url="http://127.0.0.1:9/toy_release.npz"))
    with pytest.raises(OSError, match='Could not download.*weights="path/to'):
        zoo.load(name)


def test_wrong_hash_and_wrong_file_are_errors(tmp_path, toy_world):
    name = toy_world(original=_original(sha256="0" * 64))
    path, _ = _release(tmp_path, name)
    with pytest.raises(ValueError, match="expected 0000"):
        zoo.load(name, weights=str(path))
    other = toy_world(original=_original())
    np.savez(tmp_path / "partial.npz", only=np.zeros(3, "float32"))
    with pytest.raises(ConversionError, match="missing from the checkpoint"):
        zoo.load(other, weights=str(tmp_path / "partial.npz"))


def test_preset_original_needs_its_fields(toy_world):
    with pytest.raises(ValueError, match="original must be None or a dict"):
        toy_world(original={"format": "toy_npz"})


def test_a_folder_original_is_hashed_by_its_files(tmp_path, toy_world):
    folder = tmp_path / "module"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    first = originals.sha256_of_source(str(folder))
    assert first == originals.sha256_of_source(str(folder))
    (folder / "variables" / "variables.index").write_bytes(b"changed")
    assert originals.sha256_of_source(str(folder)) != first
