"""Processes killed mid-run, and several workers training together."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_ssl.training import latest_checkpoint, read_checkpoint_header
from tests.helpers import REPO_ROOT


def recipe(out, **train):
    return {
        "method": "build_toy_gan",
        "data": {"source": "digits", "image_size": 8, "limit": 256},
        "train": {
            "steps": 30,
            "batch_size": 16,
            "steps_per_epoch": 10,
            "checkpoint_every": 5,
            "sample_every": 0,
            "log_every": 5,
            "deterministic": True,
            "verbose": 0,
            **train,
        },
        "out": str(out),
    }


def start(config, *extra, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.training.worker", json.dumps(config), *extra],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process, timeout=240):
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"process did not finish in {timeout} s:\n{output[-3000:]}")
    assert process.returncode == 0, output[-3000:]
    return json.loads(output.strip().splitlines()[-1])


def checkpoint_arrays(directory):
    path = latest_checkpoint(directory)
    with np.load(path) as archive:
        return read_checkpoint_header(path)["step"], {
            k: archive[k] for k in archive.files if k != "__header__"
        }


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    whole = start(recipe(tmp_path / "whole"))
    victim = start(recipe(tmp_path / "killed"), "0.15")
    checkpoints = tmp_path / "killed" / "checkpoints"
    deadline = time.monotonic() + 180
    while (
        latest_checkpoint(checkpoints) is None
        or read_checkpoint_header(latest_checkpoint(checkpoints))["step"] < 10
    ):
        assert victim.poll() is None, victim.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = read_checkpoint_header(latest_checkpoint(checkpoints))["step"]
    assert 10 <= killed_at < 30

    resumed = finish(start(recipe(tmp_path / "killed")))
    reference = finish(whole)
    assert resumed["start_step"] == killed_at
    assert resumed["steps"] == reference["steps"] == 30
    step_a, arrays_a = checkpoint_arrays(tmp_path / "whole" / "checkpoints")
    step_b, arrays_b = checkpoint_arrays(checkpoints)
    assert step_a == step_b == 30
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:  # model, both optimizers, RNG state: bit for bit
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_end_with_identical_weights(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    # Synchronized batch norm makes the moving statistics global too; without
    # it each worker would keep the statistics of its own half-batch.
    config = recipe(
        tmp_path,
        steps=6,
        checkpoint_every=3,
        strategy="auto",
        deterministic=False,
        sync_batch_norm=True,
    )
    processes = [
        start(
            config,
            env={
                "TF_CONFIG": json.dumps(
                    {
                        "cluster": {"worker": workers},
                        "task": {"type": "worker", "index": i},
                    }
                )
            },
        )
        for i in range(2)
    ]
    try:
        summaries = [finish(p, timeout=240) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    assert [s["replicas"] for s in summaries] == [2, 2]
    assert [s["steps"] for s in summaries] == [6, 6]
    chief_step, chief = checkpoint_arrays(tmp_path / "checkpoints")
    other_step, other = checkpoint_arrays(tmp_path / "workers/worker-1/checkpoints")
    assert chief_step == other_step == 6
    moved = False
    for key in chief:
        np.testing.assert_allclose(chief[key], other[key], rtol=1e-6, err_msg=key)
    step0 = build_initial_variables()
    for key, value in step0.items():
        moved |= not np.allclose(value, chief[key])
    assert moved, "training did not change the weights"


def build_initial_variables():
    from keras_ssl.training.checkpoint import checkpoint_variables
    from tests.training.toy_methods import build_toy_gan

    model = build_toy_gan()
    model.compile()
    import keras

    return {
        f"model/{i}": keras.ops.convert_to_numpy(v)
        for i, v in enumerate(checkpoint_variables(model)["model"])
        if "seed" not in v.path
    }
