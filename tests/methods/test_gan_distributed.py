"""The GAN methods under `MirroredStrategy` over two logical CPU devices.

Each test runs a script in a fresh interpreter, because the CPU must be
split into two logical devices before TensorFlow initialises.
"""

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

TWO_CPUS = """
import json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import keras
from keras_ssl.methods import build_method
from keras_ssl.training import strategy, synchronize_batch_norm

MIRRORED = strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
"""

ONE_STEP = (
    TWO_CPUS
    + """
from keras_ssl.data import load_arrays

images, labels = load_arrays("digits", image_size=16, limit=16, seed=0)
MODELS = {
    # Wasserstein: the gradient penalty draws interpolation weights too.
    "gan": {"architecture": "dcgan", "width": 4, "z_dim": 8, "loss": "wasserstein"},
    # Conditional: fake labels are drawn as well as z (checked below).
    "cgan": {"num_classes": 10, "width": 2, "z_dim": 8},
}


def build(name):
    image_size = 32 if name == "cgan" else 16
    return build_method(name, image_size=image_size, channels=1, seed=0,
                        **MODELS[name])


def batch_for(name):
    if name == "cgan":
        return tf.image.resize(images, (32, 32)).numpy(), labels
    return images, labels


def weights(model):
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in model.weights]


def one_step(name, distribution, init):
    x, y = batch_for(name)
    with distribution.scope():
        model = build(name)
        # SGD: the update is proportional to the gradient, so noise or a
        # loss scale that differs between the two runs would show.
        model.compile(g_optimizer=keras.optimizers.SGD(0.1),
                      d_optimizer=keras.optimizers.SGD(0.1))
        synchronize_batch_norm(model)
    model.set_weights(init)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(len(x))
    logs = model.fit(data, epochs=1, steps_per_epoch=1, verbose=0).history
    return weights(model), {k: float(v[-1]) for k, v in logs.items()}


report = {}
for name in ("gan",):
    init = weights(build(name))
    single, single_logs = one_step(name, strategy("default"), init)
    mirrored, mirrored_logs = one_step(name, MIRRORED, init)
    report[name] = {
        "max_abs_difference": max(
            float(np.abs(a - b).max()) for a, b in zip(single, mirrored)
        ),
        "max_abs_update": max(
            float(np.abs(a - b).max()) for a, b in zip(single, init)
        ),
        "single_logs": single_logs,
        "mirrored_logs": mirrored_logs,
    }

# The noise each replica draws: distinct, and together the single draw.
gan = build("cgan")
with MIRRORED.scope():
    mirrored_gan = build("cgan")
per_replica = MIRRORED.run(tf.function(lambda: mirrored_gan.sample_inputs(4)))
z = [MIRRORED.experimental_local_results(per_replica[0])[i].numpy() for i in (0, 1)]
y = [MIRRORED.experimental_local_results(per_replica[1])[i].numpy() for i in (0, 1)]
z_single, y_single = (np.asarray(t) for t in gan.sample_inputs(8))
report["noise"] = {
    "replicas_differ": bool(not np.allclose(z[0], z[1])),
    "equals_single_device": bool(
        np.allclose(np.concatenate(z), z_single)
        and np.array_equal(np.concatenate(y), y_single)
    ),
}
print("REPORT", json.dumps(report))
"""
)

TRAIN = (
    TWO_CPUS
    + """
from keras_ssl.data import load

data = load("digits", image_size=32, batch_size=16, limit=32, seed=0,
            drop_remainder=True)
builders = {
    "gan": dict(loss="wasserstein", n_disc=2, ema_decay=0.5),
    "s3gan": dict(num_classes=10, ema_decay=0.5),
}
for name, options in builders.items():
    with MIRRORED.scope():
        gan = build_method(name, image_size=32, channels=1, width=4, z_dim=8,
                           seed=0, **options)
        gan.compile()
    history = gan.fit(data, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values()), history.history
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    assert gan.generate(2, seed=0).shape == (2, 32, 32, 1)
    print(type(gan).__name__, "ok")
"""
)


def _run(script):
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def test_one_mirrored_step_equals_one_single_device_step():
    # Replicas share the SeedGenerator state; each must still get its own
    # slice of the global batch's noise, labels and interpolation weights.
    line = [row for row in _run(ONE_STEP).splitlines() if row.startswith("REPORT ")][-1]
    report = json.loads(line[len("REPORT ") :])
    assert report["noise"]["replicas_differ"], report["noise"]
    assert report["noise"]["equals_single_device"], report["noise"]
    for name in ("gan",):
        result = report[name]
        assert result["max_abs_update"] > 1e-3, (name, result)
        assert result["max_abs_difference"] < 1e-4 * max(
            1.0, result["max_abs_update"]
        ), (name, result)
        for key, value in result["single_logs"].items():
            assert result["mirrored_logs"][key] == pytest.approx(
                value, rel=1e-4, abs=1e-5
            ), (name, key, result)


@pytest.mark.slow
def test_gan_and_s3gan_train_under_mirrored_strategy():
    stdout = _run(TRAIN)
    assert "GAN ok" in stdout and "S3GAN ok" in stdout
