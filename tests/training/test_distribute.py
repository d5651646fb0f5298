import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.training import distribute
from keras_ssl.training.distribute import (
    num_replicas,
    replica_batch_size,
    strategy,
    synchronize_batch_norm,
)
from tests.helpers import floatx_scope
from tests.training.toy_methods import build_toy_gan, build_toy_rotnet


def real_batch(batch_size=16, image_size=8, seed=0):
    from keras_ssl import data

    images, labels = data.load_arrays(
        "digits", image_size=image_size, limit=batch_size, seed=seed
    )
    return images, labels


def test_default_and_mirrored(two_cpus, mirrored):
    assert num_replicas(strategy("default")) == 1
    assert num_replicas(strategy("auto")) == 1
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert num_replicas(mirrored) == 2
    assert num_replicas(strategy("auto", devices=two_cpus)) == 2
    assert replica_batch_size(64, mirrored) == 32
    with pytest.raises(ValueError, match="divisible by the number of replicas"):
        replica_batch_size(63, mirrored)


def test_auto_reads_tf_config(monkeypatch):
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker"}})
    )
    assert distribute.num_workers_from_env() == 2
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.num_workers_from_env()


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="kind must be one of .*Received: kind='gpu'"):
        strategy("gpu")
    with pytest.raises(TypeError, match="devices must be a list"):
        strategy("mirrored", devices="/cpu:0")
    with pytest.raises(ValueError, match="global_batch_size"):
        replica_batch_size(0)
    with pytest.raises(TypeError, match="model must be a keras Layer"):
        synchronize_batch_norm("not a model")


def test_synchronize_batch_norm_reaches_nested_layers():
    model = build_toy_gan()
    assert synchronize_batch_norm(model) == 1
    assert synchronize_batch_norm(model) == 0


def _weights(model):
    return [keras.ops.convert_to_numpy(v) for v in model.weights]


def _one_step(build, distribution, init_weights, images, labels, optimizers):
    with distribution.scope():
        model = build()
        model.compile(**optimizers())
        model(images[:2])
        synchronize_batch_norm(model)
    model.set_weights(init_weights)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(len(images))
    history = model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    return model, history.history


@pytest.mark.parametrize(
    "build,optimizers",
    [
        (
            build_toy_gan,
            lambda: {
                "d_optimizer": keras.optimizers.SGD(0.5),
                "g_optimizer": keras.optimizers.SGD(0.5),
            },
        ),
        (build_toy_rotnet, lambda: {"optimizer": keras.optimizers.SGD(0.5)}),
    ],
    ids=["two_optimizer_gan", "pretext_task"],
)
def test_one_mirrored_step_equals_one_single_device_step(mirrored, build, optimizers):
    # SGD makes the update proportional to the gradient, so a loss scaled
    # wrongly for the number of replicas would show up (Adam's first step
    # would hide it).
    images, labels = real_batch()
    reference = build()
    reference(images[:2])
    init = _weights(reference)
    single, single_logs = _one_step(
        build, strategy("default"), init, images, labels, optimizers
    )
    mirrored, mirrored_logs = _one_step(
        build, mirrored, init, images, labels, optimizers
    )
    moved = 0.0
    for before, a, b in zip(init, _weights(single), _weights(mirrored), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        moved = max(moved, float(np.abs(a - before).max()))
    assert moved > 1e-3, "the step did not change the weights"
    for name, values in single_logs.items():
        np.testing.assert_allclose(values, mirrored_logs[name], rtol=1e-4)


def _rotnet():
    from keras_ssl.methods import build_method

    return build_method(
        "rotnet",
        image_size=16,
        channels=1,
        encoder_config={"width": 8, "num_blocks": 3},
    )


def test_rotnet_one_mirrored_step_equals_one_single_device_step(mirrored):
    # The two steps sum the batch in different orders. Max pooling turns a
    # float32 rounding difference into a different winner wherever two
    # pooled values are within a rounding error of each other, which some
    # initialisations meet; in float64 such near-ties are a billion times
    # rarer. Digits also have flat regions (exact ties): seeded jitter.
    images, labels = real_batch(image_size=16)
    jitter = np.random.default_rng(0).uniform(-0.05, 0.05, images.shape)
    images = (images + jitter).astype("float64")
    optimizers = lambda: {"optimizer": keras.optimizers.SGD(0.5)}  # noqa: E731
    with floatx_scope("float64"):
        reference = _rotnet()
        reference(images[:2])
        init = _weights(reference)
        single, _ = _one_step(
            _rotnet, strategy("default"), init, images, labels, optimizers
        )
        mirrored_model, _ = _one_step(
            _rotnet, mirrored, init, images, labels, optimizers
        )
    for a, b in zip(_weights(single), _weights(mirrored_model), strict=True):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    assert any(
        not np.allclose(a, b) for a, b in zip(init, _weights(single), strict=True)
    )
