"""The core (layers, ops, losses, architectures) imports and runs without
TensorFlow, under the JAX backend, in a fresh process."""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO_ROOT, WITHOUT_TENSORFLOW

SCRIPT = WITHOUT_TENSORFLOW + textwrap.dedent(
    """
    import keras
    import numpy as np

    import keras_ssl
    import keras_ssl.architectures
    import keras_ssl.layers
    import keras_ssl.losses
    import keras_ssl.ops

    assert keras.backend.backend() == "jax", keras.backend.backend()
    # `import keras_ssl` registers every method class for load_model.
    for name in ("GAN", "RotNet", "CycleGAN", "InstanceDiscrimination"):
        assert keras.saving.get_registered_object(f"keras_ssl>{name}"), name
    generator = keras_ssl.architectures.resnet_generator(32, 16, 8, 3)
    images = generator(np.zeros((2, 16), "float32"))
    assert tuple(images.shape) == (2, 32, 32, 3), images.shape
    layer = keras_ssl.layers.SinkhornNormalization(n_iters=5)
    doubly = np.asarray(layer(np.random.default_rng(0).normal(size=(1, 4, 4))))
    np.testing.assert_allclose(doubly.sum(-1), 1.0, atol=1e-4)
    loss = keras_ssl.losses.gan.hinge_discriminator_loss(
        np.full((2, 1), 2.0, "float32"), np.full((2, 1), -2.0, "float32")
    )
    assert float(loss) == 0.0, loss
    blocked = [m for m in sys.modules if m.split(".")[0] == "tensorflow"]
    assert not blocked, blocked
    print("OK")
    """
)


def test_core_imports_and_runs_under_jax_without_tensorflow():
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]
