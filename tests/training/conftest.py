"""Two logical CPU devices for the distribution tests of this folder.

The split must happen before TensorFlow initialises its devices. When
another test already did (the whole suite in one process), tests that need
two devices re-run themselves in a fresh interpreter instead, and report
that run's outcome as their own (a pass reads as a pass).
"""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.helpers import REPO_ROOT, pass_elsewhere


def _split_cpu():
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
        )
    except RuntimeError:
        return len(tf.config.list_logical_devices("CPU")) >= 2
    return True


TWO_CPUS = _split_cpu()


@pytest.fixture
def two_cpus(request):
    """Device names of two logical CPUs; re-runs the test elsewhere if needed."""
    if TWO_CPUS:
        return ["/cpu:0", "/cpu:1"]
    if os.environ.get("KERAS_SSL_TWO_CPU_RERUN"):
        pytest.fail("could not create two logical CPU devices")
    env = dict(os.environ, KERAS_SSL_TWO_CPU_RERUN="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", request.node.nodeid, "-q", "-x"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"re-run with two CPU devices failed:\n{result.stdout[-4000:]}")
    pass_elsewhere(request, "passed in a fresh process with two logical CPU devices")
    return None


_MIRRORED = {}


@pytest.fixture
def mirrored(two_cpus):
    """One `MirroredStrategy` over the two CPUs, shared by the whole session.

    Several MirroredStrategy objects in one process can hand out colliding
    collective keys on CPU; one instance avoids that.
    """
    from keras_ssl.training import strategy

    if two_cpus is None:  # the test passed in a fresh process
        return None
    if "strategy" not in _MIRRORED:
        _MIRRORED["strategy"] = strategy("mirrored", devices=two_cpus)
    return _MIRRORED["strategy"]
