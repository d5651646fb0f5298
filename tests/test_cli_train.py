"""`keras-ssl train`: the main job, run in-process on the embedded digits."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image

from keras_ssl.cli import build_parser, main
from keras_ssl.commands.train import flags_to_config
from keras_ssl.training import runner

GAN_FLAGS = [
    "--data",
    "digits",
    "--image-size",
    "16",
    "--batch-size",
    "16",
    "--steps-per-epoch",
    "3",
    "--sample-every",
    "3",
    "--checkpoint-every",
    "3",
    "--override",
    "model.architecture=dcgan",
    "--override",
    "model.width=8",
    "--override",
    "model.z_dim=16",
    "--override",
    "data.limit=256",
]


def test_train_gan_writes_everything_and_resumes(tmp_path, capsys):
    out = tmp_path / "gan"
    assert main(["train", "gan", *GAN_FLAGS, "--steps", "6", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/2  step 3/6  d_loss" in printed
    assert "epoch 2/2  step 6/6" in printed
    assert "completed: step 6" in printed
    for name in (
        "config.yaml",
        "log.csv",
        "summary.json",
        "final/model.keras",
        "final/generator.keras",
        "samples/step_000000003.png",
        "samples/final.png",
        "checkpoints/ckpt-000000006.npz",
    ):
        assert (out / name).is_file(), name
    grid = np.asarray(Image.open(out / "samples/final.png"))
    assert grid.shape == (8 * 16 + 7, 8 * 16 + 7)  # 64 grey 16x16 samples
    assert grid.std() > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 6 and np.isfinite(summary["logs"]["d_loss"])
    if not tf.config.list_physical_devices("GPU"):
        # Keras' jit_compile="auto" (no --jit flag) is no XLA on a CPU.
        assert summary["jit_compile"] is False

    # Same command with more steps: resumes at step 6.
    assert main(["train", "gan", *GAN_FLAGS, "--steps", "9", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Resuming from" in printed and "at step 6" in printed
    assert "epoch 3/3  step 9/9" in printed
    assert json.loads((out / "summary.json").read_text())["start_step"] == 6


def test_recipe_with_overrides(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "method": "rotnet",
                "model": {"encoder_config": {"width": 8, "num_blocks": 3}},
                "data": {"source": "digits", "image_size": 16, "limit": 128},
                "train": {"steps": 100, "batch_size": 16, "steps_per_epoch": 2},
            }
        )
    )
    out = tmp_path / "rotnet"
    code = main(
        [
            "train",
            "--recipe",
            str(recipe),
            "--out",
            str(out),
            "--override",
            "train.steps=2",
        ]
    )
    assert code == 0
    assert "epoch 1/1  step 2/2  pretext_accuracy" in capsys.readouterr().out
    assert (out / "final/encoder.keras").is_file()
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["steps"] == 2


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "nosuchmethod", "--data", "digits"], "Unknown method"),
        (["train", "gan", "--data", "digits", "--override", "steps"], "section.key"),
        (["train", "gan", "--data", "digits", "--steps", "0"], "train.steps"),
        (["train", "gan"], "data source"),
        (["train", "--data", "digits"], "must name a method"),
        (["train", "gan", "--data", "digits", "--recipe", "nope"], "No recipe"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_bad_choice_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["train", "gan", "--strategy", "tpu"])
    assert "invalid choice" in capsys.readouterr().err


def test_jit_flags_set_the_compile_option():
    parser = build_parser()
    for flag, value in (("--jit", True), ("--no-jit", False)):
        config = flags_to_config(parser.parse_args(["train", "gan", flag]))
        assert config["compile"] == {"jit_compile": value}
    assert "compile" not in flags_to_config(parser.parse_args(["train", "gan"]))


def test_train_instance_discrimination_numbers_the_examples(
    tmp_path, capsys, monkeypatch
):
    built = []
    build = runner._build_model

    def recording_build(*args, **kwargs):
        model = build(*args, **kwargs)
        built.append((model, keras.ops.convert_to_numpy(model.memory_bank.bank)))
        return model

    monkeypatch.setattr(runner, "_build_model", recording_build)
    out = tmp_path / "npid"
    argv = ["train", "instance_discrimination", "--data", "digits", "--no-jit"]
    argv += ["--image-size", "16", "--limit", "64", "--batch-size", "16"]
    argv += ["--steps", "4", "--steps-per-epoch", "4", "--out", str(out)]
    for override in (
        "model.encoder=nin",
        "model.encoder_config={width: 8, num_blocks: 3}",
        "model.num_negatives=16",
        "model.embedding_dim=8",
    ):
        argv += ["--override", override]
    assert main(argv) == 0
    assert "completed: step 4" in capsys.readouterr().out
    model, initial = built[0]
    # One memory-bank row per example of the (limited) dataset...
    assert model.num_examples == 64 and initial.shape[0] == 64
    # ...and 4 steps of 16 are one epoch: every example's row was written
    # (class labels as indices would touch 10 rows at most).
    bank = keras.ops.convert_to_numpy(model.memory_bank.bank)
    written = ~np.isclose(bank, initial).all(axis=1)
    assert written.all(), int(written.sum())
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["compile"] == {"jit_compile": False}


@pytest.mark.slow
def test_train_runs_and_resumes_under_jax(tmp_path):
    # The runner's data pipeline is tf.data; Keras' JAX trainer takes it.
    import os
    import subprocess
    import sys

    pytest.importorskip("jax")
    out = tmp_path / "run"
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    command = [
        sys.executable, "-m", "keras_ssl.cli", "train", "ssgan", "--data", "digits",
        "--image-size", "32", "--channels", "1", "--limit", "64",
        "--batch-size", "16", "--steps-per-epoch", "2", "--checkpoint-every", "2",
        "--out", str(out), "--override", "model.width=4",
    ]  # fmt: skip
    for steps in ("2", "4"):
        result = subprocess.run(
            [*command, "--steps", steps], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming from" in result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["start_step"], summary["steps"]) == (2, 4), summary
    assert summary["backend"] == "jax", summary
    assert np.all(np.isfinite(list(summary["logs"].values()))), summary
