import keras
import numpy as np
import pytest
import yaml

from keras_ssl.training import (
    apply_overrides,
    latest_checkpoint,
    plan_segments,
    read_checkpoint_header,
    resolve_config,
    train,
)
from keras_ssl.training.config import parse_override
from tests.training.toy_methods import build_toy_gan, build_toy_rotnet

DIGITS = {"source": "digits", "image_size": 8, "limit": 256}
FAST = {"batch_size": 16, "steps_per_epoch": 8, "log_every": 4, "sample_every": 0}


def final_weights(summary):
    return [keras.ops.convert_to_numpy(v) for v in summary["model"].variables]


def test_resumed_run_matches_an_uninterrupted_run(tmp_path):
    whole = train(build_toy_gan, DIGITS, tmp_path / "whole", steps=20, **FAST)
    first = train(
        build_toy_gan, DIGITS, tmp_path / "split", steps=12, checkpoint_every=6, **FAST
    )
    assert first["steps"] == 12
    resumed = train(
        build_toy_gan, DIGITS, tmp_path / "split", steps=20, checkpoint_every=6, **FAST
    )
    assert resumed["start_step"] == 12 and resumed["steps"] == 20
    assert whole["steps"] == 20
    for a, b in zip(final_weights(whole), final_weights(resumed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    header = read_checkpoint_header(latest_checkpoint(tmp_path / "split/checkpoints"))
    assert header["step"] == 20
    assert (tmp_path / "split/final/generator.keras").exists()
    assert (tmp_path / "split/samples/final.png").exists()
    log = (tmp_path / "split/log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,d_loss,g_loss")


def test_a_finished_run_is_not_trained_again(tmp_path):
    train(build_toy_gan, DIGITS, tmp_path, steps=4, **FAST)
    again = train(build_toy_gan, DIGITS, tmp_path, steps=4, **FAST)
    assert again["stopped"] == "already_complete" and again["steps"] == 4


def test_resuming_with_another_method_config_is_refused(tmp_path):
    train(build_toy_gan, DIGITS, tmp_path, steps=2, model={"width": 16}, **FAST)
    with pytest.raises(ValueError, match="model="):
        train(build_toy_gan, DIGITS, tmp_path, steps=4, model={"width": 8}, **FAST)


def test_mirrored_training_through_the_runner(tmp_path, mirrored, two_cpus):
    summary = train(
        build_toy_rotnet,
        DIGITS,
        tmp_path,
        steps=24,
        strategy="mirrored",
        devices=two_cpus,
        compile={"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.2}}},
        **FAST,
    )
    assert summary["replicas"] == 2
    # The rotation task is learnable: accuracy above chance (0.25).
    assert summary["logs"]["accuracy"] > 0.4
    assert (tmp_path / "final/encoder.keras").exists()


def test_mixed_bfloat16_trains_with_finite_losses(tmp_path):
    before = keras.config.dtype_policy().name
    summary = train(
        build_toy_gan,
        DIGITS,
        tmp_path,
        steps=6,
        mixed_precision="mixed_bfloat16",
        **FAST,
    )
    model = summary["model"]
    assert model.generator.layers[0].compute_dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in model.generator.weights)
    bn = model.generator.layers[1]
    assert bn.moving_mean.dtype == "float32"
    assert all(np.isfinite(v) for v in summary["logs"].values())
    assert keras.config.dtype_policy().name == before


def test_plan_segments():
    assert plan_segments(0, 300, 100) == [
        {"start_step": 0, "initial_epoch": 0, "epochs": 3, "steps_per_epoch": 100}
    ]
    assert [s["steps_per_epoch"] for s in plan_segments(150, 420, 100)] == [50, 100, 20]
    assert plan_segments(420, 420, 100) == []


def test_config_layers_and_overrides(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "method": "ssgan",
                "model": {"base_channels": 64},
                "data": {"source": "cifar10"},
                "train": {"steps": 40000},
            }
        )
    )
    config = resolve_config(
        str(recipe),
        {"train": {"batch_size": 32}},
        overrides=["train.steps=100", "model.base_channels=16", "data.limit=null"],
    )
    assert config["train"]["steps"] == 100 and config["train"]["batch_size"] == 32
    assert config["model"] == {"base_channels": 16}
    assert config["train"]["checkpoint_every"] == 500  # a default
    assert parse_override("train.max_hours=0.5") == (("train", "max_hours"), 0.5)
    assert apply_overrides({}, ["a.b.c=[1, 2]"]) == {"a": {"b": {"c": [1, 2]}}}


@pytest.mark.parametrize(
    "update,match",
    [
        ({"train": {"stepz": 3}}, "Unknown key.*stepz"),
        (
            {"train": {"steps": 0}},
            r"train.steps must be an int >= 1. Received: train.steps=0",
        ),
        ({"train": {"strategy": "tpu"}}, "train.strategy must be one of"),
        ({"train": {"mixed_precision": "fp8"}}, "mixed_precision must be one of"),
        ({"data": {"source": None}}, "data source"),
        ({"method": None}, "must name a method"),
        ({"extra": 1}, "Unknown config section"),
    ],
)
def test_bad_configs_are_clear_errors(update, match):
    base = {"method": "gan", "data": {"source": "digits"}}
    with pytest.raises(ValueError, match=match):
        resolve_config(base, update)
    with pytest.raises(ValueError, match="section.key=value"):
        parse_override("steps")


def test_mixed_float16_wraps_optimizers_for_loss_scaling(tmp_path):
    adam = {"class_name": "Adam", "config": {"learning_rate": 1e-3}}
    summary = train(
        build_toy_gan,
        DIGITS,
        tmp_path,
        steps=4,
        mixed_precision="mixed_float16",
        compile={"d_optimizer": adam, "g_optimizer": adam},
        **FAST,
    )
    model = summary["model"]
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.generator.layers[0].compute_dtype == "float16"
    assert all(np.isfinite(v) for v in summary["logs"].values())
    assert float(model.d_optimizer.dynamic_scale) > 1.0


def test_max_hours_stops_with_a_checkpoint_and_the_run_resumes(tmp_path):
    stopped = train(build_toy_gan, DIGITS, tmp_path, steps=20, max_hours=1e-9, **FAST)
    assert stopped["stopped"] == "max_hours" and stopped["steps"] == 1
    assert read_checkpoint_header(stopped["checkpoint"])["step"] == 1
    assert not (tmp_path / "final").exists()
    finished = train(build_toy_gan, DIGITS, tmp_path, steps=20, **FAST)
    assert finished["start_step"] == 1 and finished["steps"] == 20
    assert finished["stopped"] == "completed"
