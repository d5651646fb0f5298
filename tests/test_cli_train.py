"""`keras-ssl train`: the main job, run in-process on the embedded digits."""

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from keras_ssl.cli import main

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
