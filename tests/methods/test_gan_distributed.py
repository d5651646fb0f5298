"""Slow: the GAN methods train with `model.fit` under `MirroredStrategy`.

Runs in a fresh interpreter, because the CPU must be split into two logical
devices before TensorFlow initialises.
"""

import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

SCRIPT = """
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
from keras_ssl.data import load
from keras_ssl.methods import build_gan, build_s3gan

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
data = load("digits", image_size=32, batch_size=16, limit=32, seed=0,
            drop_remainder=True)
builders = [
    lambda: build_gan(32, channels=1, width=4, z_dim=8, loss="wasserstein",
                      n_disc=2, ema_decay=0.5, seed=0),
    lambda: build_s3gan(32, channels=1, num_classes=10, width=4, z_dim=8,
                        ema_decay=0.5, seed=0),
]
for build in builders:
    with strategy.scope():
        gan = build()
        gan.compile()
    history = gan.fit(data, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values()), history.history
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    assert gan.generate(2, seed=0).shape == (2, 32, 32, 1)
    print(type(gan).__name__, "ok")
"""


@pytest.mark.slow
def test_gan_and_s3gan_train_under_mirrored_strategy():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "GAN ok" in result.stdout and "S3GAN ok" in result.stdout
