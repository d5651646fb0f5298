"""RotNet, Jigsaw, DeepPermNet and ContextPrediction under MirroredStrategy.

Each run is a fresh process because two logical CPU devices must be set up
before TensorFlow initialises.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, cifar10_path

SCRIPT = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import numpy as np
from keras_ssl import data
from keras_ssl.methods import build_method

name, path, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
dataset = data.load(path, split="test", image_size=32, batch_size=16, limit=64,
                    seed=0, repeat=True)
with strategy.scope():
    model = build_method(name, image_size=32,
                         encoder_config={"width": 8, "num_blocks": 3}, **extra)
    model.compile()
history = model.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)
print("RESULT", json.dumps({k: float(v[-1]) for k, v in history.history.items()}))
"""

CASES = {
    "rotnet": {},
    "jigsaw": {"num_permutations": 10, "tile_units": 8, "hidden_units": 8, "seed": 0},
    "deeppermnet": {"tile_units": 8, "hidden_units": 8, "seed": 0},
    "context_prediction": {
        "patch_units": 8,
        "hidden_units": 8,
        "chromatic": "drop",
        "seed": 0,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_under_mirrored_strategy_on_two_devices(name):
    extra = CASES[name]
    args = [sys.executable, "-c", SCRIPT, name, cifar10_path("test"), json.dumps(extra)]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        args, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=600
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    metrics = json.loads(lines[-1][len("RESULT ") :])
    assert all(value == value and abs(value) < 1e6 for value in metrics.values())
    assert "pretext_loss" in metrics and "pretext_accuracy" in metrics
