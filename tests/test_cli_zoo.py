import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_ssl import cli, zoo
from tests.zoo.toy_methods import TOY_PRESETS


@pytest.fixture(autouse=True)
def toy_presets():
    for preset in TOY_PRESETS:
        zoo.register(preset, overwrite=True)
    yield
    for preset in TOY_PRESETS:
        zoo.unregister(preset["name"])


@pytest.mark.parametrize("command", ["zoo", "sample", "export", "evaluate"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: keras-ssl " + command in capsys.readouterr().out


def test_zoo_list_and_info(capsys):
    assert cli.main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    for name in zoo.list_presets():
        assert name in out
    assert cli.main(["zoo", "info", "toy_gan_tiny"]) == 0
    out = capsys.readouterr().out
    assert "keras-ssl train --recipe zoo/toy_gan_tiny/recipe.yaml" in out
    assert "none published" in out
    assert cli.main(["zoo", "list", "--json", "--method", "toy_gan"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == ["toy_gan_tiny"]


def test_unknown_preset_is_a_clear_error(capsys):
    assert cli.main(["zoo", "info", "toy_gan_tinny"]) == 2
    assert "Did you mean: toy_gan_tiny" in capsys.readouterr().err


def test_default_weights_missing_is_a_clear_error(capsys, tmp_path):
    code = cli.main(["sample", "toy_gan_tiny", "--out", str(tmp_path / "g.png")])
    assert code == 2
    assert "keras-ssl train --recipe zoo/toy_gan_tiny" in capsys.readouterr().err


def test_sample_writes_a_grid(tmp_path):
    out = tmp_path / "grid.png"
    code = cli.main(
        ["sample", "toy_gan_tiny", "--weights", "none", "--num", "6", "--out", str(out)]
    )
    assert code == 0
    grid = np.asarray(Image.open(out))
    # 6 images of 8x8 in a 3x2 grid with 1-pixel padding.
    assert grid.shape[0] > 8 and grid.shape[1] > 16
    assert grid.std() > 0


def test_sample_from_a_saved_generator(tmp_path):
    generator = zoo.load("toy_gan_tiny", weights=None).generator
    path = tmp_path / "generator.keras"
    generator.save(path)
    out = tmp_path / "grid.png"
    assert cli.main(["sample", str(path), "--num", "4", "--out", str(out)]) == 0
    assert out.exists()


def test_export_command(tmp_path, capsys):
    import tensorflow as tf

    out = tmp_path / "serving"
    assert cli.main(["export", "toy_encoder_tiny", str(out), "--weights", "none"]) == 0
    assert (out / "1" / "saved_model.pb").exists()
    serve = tf.saved_model.load(str(out / "1")).signatures["serving_default"]
    features = serve(images=tf.zeros((2, 8, 8, 3), tf.uint8))["features"]
    assert features.shape == (2, 4)
    assert cli.main(["export", "toy_encoder_tiny", str(out), "--weights", "none"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_export_with_weights_file_needs_a_preset(tmp_path, capsys):
    model = zoo.load("toy_encoder_tiny", weights=None)
    path = tmp_path / "toy.weights.h5"
    model.save_weights(path)
    assert cli.main(["export", str(path), str(tmp_path / "a")]) == 2
    assert "--preset" in capsys.readouterr().err
    code = cli.main(
        ["export", str(path), str(tmp_path / "a"), "--preset", "toy_encoder_tiny"]
    )
    assert code == 0


def test_evaluate_linear_probe_on_real_digits(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    out = tmp_path / "result.json"
    code = cli.main(
        [
            "evaluate", "toy_encoder_tiny", "--weights", "none",
            "--metric", "linear_probe", "--data", "digits",
            "--limit", "300", "--epochs", "30", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    accuracy = result["linear_probe"]["output"]
    # Random conv features of real digits, held-out split: well above chance.
    assert accuracy > 0.3, result


def test_preset_recipe_trains_and_its_run_exports(tmp_path):
    import tensorflow as tf

    run = tmp_path / "run"
    code = cli.main(
        [
            "train", "--recipe", "rotnet_cifar10",
            "--override", "data.source=digits",
            "--override", "model.encoder_config={num_blocks: 3, width: 8}",
            "--override", "train.steps=2", "--override", "train.batch_size=8",
            "--override", "train.steps_per_epoch=2",
            "--override", f"out={run}",
        ]
    )  # fmt: skip
    assert code == 0
    assert cli.main(["export", str(run), str(tmp_path / "serving")]) == 0
    serve = tf.saved_model.load(str(tmp_path / "serving" / "1"))
    features = serve.signatures["serving_default"](
        images=tf.zeros((3, 32, 32, 3), tf.uint8)
    )["features"]
    assert features.shape == (3, 8)
    # The run's own data (digits, from its config.yaml) evaluates it.
    out = tmp_path / "knn.json"
    code = cli.main(
        ["evaluate", str(run), "--metric", "knn", "--limit", "300", "--out", str(out)]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["data"] == "digits" and 0.0 <= result["knn_accuracy"] <= 1.0
