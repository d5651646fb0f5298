import contextlib
import functools
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

from keras_ssl import zoo
from keras_ssl.zoo import registry as registry_module
from keras_ssl.zoo import weights as weights_module
from tests.zoo.toy_methods import TOY_PRESETS


@pytest.fixture(autouse=True)
def toy_presets():
    for preset in TOY_PRESETS:
        zoo.register(preset, overwrite=True)
    yield
    for preset in TOY_PRESETS:
        zoo.unregister(preset["name"])


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("KERAS_SSL_HOME", str(directory))
    return directory


def fixed_inputs(seed=0):
    return np.random.default_rng(seed).normal(size=(3, 8, 8, 3)).astype("float32")


def trained_weights(tmp_path):
    """A toy encoder whose weights differ from a fresh build, saved to a file."""
    model = zoo.load("toy_encoder_tiny", weights=None)
    for variable in model.weights:
        variable.assign(np.random.default_rng(1).normal(size=variable.shape))
    path = tmp_path / "toy.weights.h5"
    model.save_weights(path)
    return model, path


def test_unknown_name_lists_closest():
    with pytest.raises(ValueError, match="Did you mean: toy_gan_tiny"):
        zoo.load("toy_gan_tinny")


def test_info_describes_a_preset():
    details = zoo.info("toy_gan_tiny")
    assert details["method"] == "toy_gan"
    assert details["weights_available"] is False
    assert details["input_spec"]["image_size"] == 8
    assert details["train_command"] == (
        "keras-ssl train --recipe zoo/toy_gan_tiny/recipe.yaml"
    )


def test_register_refuses_duplicates_and_bad_presets():
    with pytest.raises(ValueError, match="already exists"):
        zoo.register(TOY_PRESETS[0])
    recipe = {"method": "toy_gan"}
    with pytest.raises(ValueError, match="Unknown preset keys"):
        zoo.register({"name": "x_y", "recipe": recipe, "lr": 1})
    with pytest.raises(ValueError, match="sha256"):
        zoo.register(
            {"name": "x_y", "recipe": recipe, "weights": {"url": "https://a/b"}}
        )
    with pytest.raises(ValueError, match="image_size must be a positive integer"):
        zoo.register(
            {"name": "x_y", "recipe": dict(recipe, model={"image_size": "32"})}
        )
    with pytest.raises(ValueError, match="must name a method"):
        zoo.register({"name": "x_y", "recipe": {"model": {}}})


def test_missing_default_weights_say_how_to_train():
    with pytest.raises(ValueError, match="keras-ssl train --recipe zoo/toy_gan_tiny"):
        zoo.load("toy_gan_tiny")


def test_untrained_build_runs_and_overrides_apply():
    model = zoo.load("toy_gan_tiny", weights=None, latent_dim=6)
    assert model.generator.input_shape == (None, 6)
    images = model.generator(np.zeros((2, 6), "float32"))
    assert images.shape == (2, 8, 8, 3)


def test_local_weights_reproduce_outputs(tmp_path):
    source, path = trained_weights(tmp_path)
    expected = source.encoder(fixed_inputs())
    loaded = zoo.load("toy_encoder_tiny", weights=str(path))
    np.testing.assert_allclose(loaded.encoder(fixed_inputs()), expected, atol=1e-6)
    fresh = zoo.load("toy_encoder_tiny", weights=None)
    assert not np.allclose(fresh.encoder(fixed_inputs()), expected, atol=1e-3)


def test_local_weights_with_wrong_hash_raise(tmp_path):
    _, path = trained_weights(tmp_path)
    with pytest.raises(ValueError, match="expected " + "0" * 64):
        zoo.load("toy_encoder_tiny", weights=str(path), sha256="0" * 64)


def test_packaged_weights_file(tmp_path, monkeypatch):
    source, path = trained_weights(tmp_path)
    monkeypatch.setattr(weights_module, "WEIGHTS_DIR", str(tmp_path))
    preset = dict(TOY_PRESETS[1], name="toy_encoder_shipped")
    preset["weights"] = {"file": path.name, "sha256": weights_module.sha256_of(path)}
    zoo.register(preset)
    try:
        assert zoo.info("toy_encoder_shipped")["weights_available"] is True
        loaded = zoo.load("toy_encoder_shipped")
        np.testing.assert_allclose(
            loaded.encoder(fixed_inputs()), source.encoder(fixed_inputs()), atol=1e-6
        )
    finally:
        zoo.unregister("toy_encoder_shipped")


def test_weights_that_do_not_fit_are_a_clear_error(tmp_path):
    model = zoo.load("toy_encoder_tiny", weights=None, width=6)
    path = tmp_path / "wide.weights.h5"
    model.save_weights(path)
    with pytest.raises(ValueError, match="do not fit preset 'toy_encoder_tiny'"):
        zoo.load("toy_encoder_tiny", weights=str(path))


@pytest.mark.parametrize("name", ["corrupt.weights.h5", "corrupt.keras"])
def test_an_unreadable_weights_file_names_the_path_and_the_format(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not a weights file" * 10)
    with pytest.raises(ValueError, match="Could not read the weights file") as raised:
        zoo.load("toy_encoder_tiny", weights=str(path))
    message = str(raised.value)
    assert str(path) in message and ".weights.h5" in message and ".keras" in message


def test_missing_file_and_bad_type():
    with pytest.raises(FileNotFoundError, match="not found"):
        zoo.load("toy_encoder_tiny", weights="/nonexistent/x.weights.h5")
    with pytest.raises(TypeError, match="weights must be"):
        zoo.load("toy_encoder_tiny", weights=3)


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def local_server(directory, lifetime=120.0):
    """Serve `directory` on a free port of 127.0.0.1 for at most `lifetime` s."""
    handler = functools.partial(_CountingHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The server stops on its own even if a test hangs.
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        timer.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_url_weights_download_once_and_verify_hash(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    source, path = trained_weights(tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with local_server(tmp_path) as (server, base):
        url = f"{base}/{path.name}"

        with pytest.raises(ValueError, match="does not have the expected sha256"):
            zoo.load("toy_encoder_tiny", weights=url, sha256="f" * 64)
        assert not (cache / path.name).exists()
        assert len(server.requests) == 1

        loaded = zoo.load("toy_encoder_tiny", weights=url, sha256=digest)
        np.testing.assert_allclose(
            loaded.encoder(fixed_inputs()), source.encoder(fixed_inputs()), atol=1e-6
        )
        assert (cache / path.name).exists()
        assert len(server.requests) == 2

        zoo.load("toy_encoder_tiny", weights=url, sha256=digest)
        assert len(server.requests) == 2


def test_url_preset_weights(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    _, path = trained_weights(tmp_path)
    digest = weights_module.sha256_of(path)
    with local_server(tmp_path) as (server, base):
        zoo.register(
            dict(
                TOY_PRESETS[1],
                name="toy_encoder_url",
                weights={"url": f"{base}/{path.name}", "sha256": digest},
            )
        )
        try:
            zoo.load("toy_encoder_url")
            zoo.load("toy_encoder_url")
        finally:
            zoo.unregister("toy_encoder_url")
        assert server.requests == [f"/{path.name}"]


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_SSL_HOME", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert zoo.cache_dir() == os.path.join(str(tmp_path), "keras_ssl")
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "x"))
    assert zoo.cache_dir() == str(tmp_path / "x")


def test_builtin_presets_are_yaml_files():
    for name in zoo.list_presets():
        preset = zoo.get_preset(name)
        if name.startswith("toy_"):
            continue
        path = os.path.join(registry_module.PRESETS_DIR, f"{name}.yaml")
        assert os.path.isfile(path), name
        assert preset.name == name


def test_keras_file_of_a_run_loads_as_weights(tmp_path):
    # What `keras-ssl train` leaves in final/model.keras.
    small = {"encoder_config": {"num_blocks": 3, "width": 8}}
    source = zoo.load("rotnet_cifar10", weights=None, **small)
    for variable in source.weights:
        variable.assign(np.random.default_rng(2).normal(size=variable.shape))
    path = tmp_path / "model.keras"
    source.save(path)
    images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    loaded = zoo.load("rotnet_cifar10", weights=str(path), **small)
    np.testing.assert_allclose(
        loaded.encoder(images), source.encoder(images), rtol=1e-5, atol=1e-5
    )
