"""Methods train with `model.fit` under the JAX backend, in a fresh process
that cannot import TensorFlow.

The suite runs on TensorFlow; these tests start one Python process with
`KERAS_BACKEND=jax` (paying the JAX and Keras import once for all models it
trains) on real CIFAR-10 images saved by the parent. XLA's CPU backend
optimisation is turned down in that process: the tests check what the step
computes, not its speed, and compiling at full optimisation costs several
CPU-seconds per model.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.helpers import REPO_ROOT, WITHOUT_TENSORFLOW, cifar10_images

FAST_XLA = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"

# Defines `record_fit(model, x, y=None, skip=(), **fit_kwargs)` in a script:
# compiles the model if needed, fits it one epoch and returns what
# `assert_trained` checks: the last logged values, how many trainable
# variables changed, the paths of the non-trainable ones (less metrics and
# `skip`, a set of variable ids) that did not, each optimizer's step count.
RECORD_FIT = textwrap.dedent(
    """
    import numpy as np


    def record_fit(model, x, y=None, skip=(), **fit_kwargs):
        if not model.compiled:
            model.compile()
        skip = {id(v) for v in model.metrics_variables} | set(skip)
        own = [v for v in model.non_trainable_variables if id(v) not in skip]
        trainable = [np.array(v) for v in model.trainable_variables]
        state = [np.array(v) for v in own]
        history = model.fit(x, y, epochs=1, verbose=0, **fit_kwargs)
        moved = [
            not np.array_equal(old, np.asarray(v))
            for old, v in zip(trainable, model.trainable_variables)
        ]
        result = {
            "logs": {k: float(v[-1]) for k, v in history.history.items()},
            "trainable": [int(sum(moved)), len(moved)],
            "unchanged": sorted(
                v.path for v, old in zip(own, state)
                if np.array_equal(old, np.asarray(v))
            ),
            "state": len(own),
            "iterations": int(model.optimizer.iterations),
        }
        for side in ("g_optimizer", "d_optimizer"):
            if getattr(model, side, None) is not None:
                result[side] = int(getattr(model, side).iterations)
        return result
    """
)

# Trains each named model a few steps and prints one JSON line of results.
# TensorFlow cannot be imported: these methods train on a machine that has
# JAX and no TensorFlow.
TRAIN = (
    WITHOUT_TENSORFLOW
    + RECORD_FIT
    + textwrap.dedent(
        """
    import json, sys
    import keras

    assert keras.backend.backend() == "jax", keras.backend.backend()
    data = np.load(sys.argv[1])
    images, labels = data["images"], data["labels"]
    results = {}

    def fit(name, model, x, y=None):
        results[name] = record_fit(model, x, y, batch_size=8)

    for name in sys.argv[2].split(","):
        if name == "gan":
            from keras_ssl.methods.gan import build_gan

            model = build_gan(
                16, width=4, z_dim=8, seed=0, architecture="dcgan",
                discriminator_options={"spectral_norm": True},
            )
            fit(name, model, images)
        elif name in ("ssgan", "cgan", "s3gan"):
            from keras_ssl.methods import build_method

            options = {} if name == "ssgan" else {"num_classes": 10}
            if name == "ssgan":
                # The EMA generator is assigned in the step too.
                options.update(ema_decay=0.5, ema_start_step=0)
            if name == "s3gan":
                options["labeled_fraction"] = 0.5
            model = build_method(
                name, image_size=32, width=4, z_dim=8, seed=0, **options
            )
            fit(name, model, images, None if name == "ssgan" else labels)
            results[name]["generated"] = list(model.generate(2, seed=0).shape)
        elif name == "rotnet":
            from keras_ssl.methods.rotnet import build_rotnet

            model = build_rotnet(
                images.shape[1], encoder_config={"width": 8, "num_blocks": 3}
            )
            fit(name, model, images)
            results[name]["evaluate"] = model.evaluate(
                images, batch_size=8, verbose=0, return_dict=True
            )
            # The task's own batches: a PyDataset, since there is no tf.data.
            batches, _ = model.training_data(images, batch_size=8)
            history = model.fit(batches, epochs=1, verbose=0)
            results[name]["training_data"] = [
                type(batches).__name__, history.history["pretext_loss"]
            ]
        else:
            raise ValueError(name)
    print("RESULTS " + json.dumps(results))
    """
    )
)


def run_jax(script, *args, timeout=600):
    """Run `script` with `args` under KERAS_BACKEND=jax; its stdout."""
    pytest.importorskip("jax")
    env = dict(
        os.environ,
        KERAS_BACKEND="jax",
        JAX_PLATFORMS="cpu",
        XLA_FLAGS=FAST_XLA,
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def results_under_jax(tmp_path, script, arrays, *args):
    """Save `arrays` to an .npz, run `script` with its path and `args` under
    JAX, and return the JSON it printed on its `RESULTS ` line."""
    path = tmp_path / "arrays.npz"
    np.savez(path, **arrays)
    output = run_jax(script, path, *args)
    line = next(x for x in output.splitlines() if x.startswith("RESULTS "))
    return json.loads(line[len("RESULTS ") :])


def train_under_jax(tmp_path, names, size):
    images, labels = cifar10_images(16, size=size, labels=True)
    arrays = {"images": images, "labels": labels.astype("int32")}
    return results_under_jax(tmp_path, TRAIN, arrays, ",".join(names))


def assert_trained(result, steps=2, fixed=()):
    """`result` of `record_fit`: finite logs; every trainable variable and
    every non-trainable one (but those whose path ends with a name in
    `fixed`) changed; each optimizer took `steps` steps."""
    assert result["logs"] and all(np.isfinite(list(result["logs"].values()))), result
    changed, total = result["trainable"]
    assert changed == total, result
    # Batch-norm statistics, spectral-norm vectors, memory banks and seed
    # generators are assigned inside the step: their new values must come
    # back from it.
    unexpected = [p for p in result["unchanged"] if not p.endswith(tuple(fixed))]
    assert result["state"] > 0 and not unexpected, result
    assert result["iterations"] == steps, result
    for side in ("g_optimizer", "d_optimizer"):
        if side in result:
            assert result[side] == steps, result


def test_gan_and_rotnet_train_under_jax(tmp_path):
    results = train_under_jax(tmp_path, ["gan", "rotnet"], size=16)
    assert_trained(results["gan"])
    assert set(results["gan"]["logs"]) == {"d_loss", "g_loss"}
    assert_trained(results["rotnet"])
    evaluated = results["rotnet"]["evaluate"]
    assert set(evaluated) == {"pretext_loss", "pretext_accuracy"}
    assert np.isfinite(evaluated["pretext_loss"])
    kind, losses = results["rotnet"]["training_data"]
    assert kind == "ArrayBatches" and len(losses) == 1 and np.isfinite(losses[0])


@pytest.mark.slow
def test_gan_family_trains_under_jax(tmp_path):
    results = train_under_jax(tmp_path, ["ssgan", "cgan", "s3gan"], size=32)
    for name in ("ssgan", "cgan", "s3gan"):
        assert_trained(results[name])
    assert "d_rotation_loss" in results["ssgan"]["logs"]
    assert results["ssgan"]["generated"] == [2, 32, 32, 3]
    assert "d_class_loss" in results["s3gan"]["logs"]


# One SS-GAN `fit` step from the same weights on the same images and noise:
# the JAX step must compute what the TensorFlow step computes.
SAME_STEP = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from tests.methods.test_jax_training import one_ssgan_step

    data = np.load(sys.argv[1])
    logs, weights = one_ssgan_step(data)
    np.savez(sys.argv[2], *weights)
    print("RESULTS " + json.dumps(logs))
    """
)


def one_ssgan_step(data):
    """`(logs, weights)` after one SGD step of a tiny SS-GAN from `data`."""
    import keras
    from keras import ops

    from keras_ssl.methods.ssgan import build_ssgan

    model = build_ssgan(32, width=4, z_dim=8, seed=0)
    model.compile(
        g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1)
    )
    count = len(model.get_weights())
    model.set_weights([data[f"init_{i}"] for i in range(count)])
    noise = data["noise"]
    calls = []

    def sample_inputs(batch_size):
        # The D update draws first, the G update second, in every trace.
        calls.append(batch_size)
        return ops.convert_to_tensor(noise[(len(calls) - 1) % 2]), None

    model.sample_inputs = sample_inputs
    history = model.fit(
        data["images"], batch_size=8, epochs=1, verbose=0, shuffle=False
    )
    logs = {k: float(v[-1]) for k, v in history.history.items()}
    return logs, [np.asarray(w) for w in model.get_weights()]


@pytest.mark.slow
def test_jax_ssgan_step_matches_tensorflow(tmp_path):
    from keras_ssl.methods.ssgan import build_ssgan

    init = build_ssgan(32, width=4, z_dim=8, seed=0).get_weights()
    rng = np.random.default_rng(0)
    data = {f"init_{i}": w for i, w in enumerate(init)}
    data["images"] = cifar10_images(8, size=32)
    data["noise"] = rng.standard_normal((2, 8, 8)).astype("float32")
    path = tmp_path / "step.npz"
    np.savez(path, **data)
    expected_logs, expected = one_ssgan_step(np.load(path))
    output = run_jax(SAME_STEP, path, tmp_path / "jax.npz")
    line = next(x for x in output.splitlines() if x.startswith("RESULTS "))
    logs = json.loads(line[len("RESULTS ") :])
    assert logs.keys() == expected_logs.keys()
    for name, value in expected_logs.items():
        np.testing.assert_allclose(logs[name], value, rtol=1e-4, err_msg=name)
    weights = np.load(tmp_path / "jax.npz")
    moved = 0
    for i, (before, after) in enumerate(zip(init, expected, strict=True)):
        got = weights[f"arr_{i}"]
        np.testing.assert_allclose(got, after, rtol=1e-3, atol=1e-5, err_msg=str(i))
        moved += not np.allclose(before, after)
    assert moved > len(init) // 2
