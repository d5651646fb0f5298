"""Throughput of SS-GAN training with 1 and 2 replicas, and checkpoint cost.

    nice -n 10 python tools/benchmark_training.py [--steps 30] [--repeats 2]

Setup: the host CPU split into two logical TensorFlow devices
(`tf.config.set_logical_device_configuration`); "1 replica" trains under
the default strategy on /cpu:0, "2 replicas" under `MirroredStrategy` over
/cpu:0 and /cpu:1 with the same global batch (each replica gets half).
Both logical devices share the same physical cores and thread pools, so
this measures the overhead of the strategy machinery (batch splitting,
all-reduce), not a speed-up. SS-GAN (compare_gan ResNet at 32x32, narrow
width) on the shared CIFAR-10 test split. Checkpoint overhead: the same
1-replica model trained with and without `TrainingCheckpoint` every N
steps, alternating on the same model in the same process; the time spent
inside the checkpoint writer is also reported directly. Times exclude
tracing (a warm-up `fit` per configuration). Results go to
tools/results/training.json.
"""

import argparse
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

_CPUS = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _CPUS[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_ssl import data  # noqa: E402
from keras_ssl.methods import build_method  # noqa: E402
from keras_ssl.training import (  # noqa: E402
    TrainingCheckpoint,
    strategy,
    synchronize_batch_norm,
)


def dataset(path, batch_size, limit):
    return data.load(
        path,
        split="test",
        batch_size=batch_size,
        limit=limit,
        seed=0,
        repeat=True,
        drop_remainder=True,
        shuffle=True,
    )


def build(distribution, width):
    keras.utils.set_random_seed(0)
    with distribution.scope():
        model = build_method("ssgan", image_size=32, channels=3, width=width)
        model.compile()
        synchronize_batch_norm(model)
    return model


def timed_fit(model, ds, steps, callbacks=()):
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=list(callbacks))
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--checkpoint-every", type=int, default=10)
    parser.add_argument("--limit", type=int, default=2048)
    parser.add_argument(
        "--data",
        default=str(REPO.parent / "shared" / "data" / "cifar10-jpeg" / "test.zip"),
    )
    parser.add_argument(
        "--out", default=str(REPO / "tools" / "results" / "training.json")
    )
    args = parser.parse_args()
    load_at_start = os.getloadavg()

    ds = dataset(args.data, args.batch_size, args.limit)
    single = build(strategy("default"), args.width)
    mirrored = build(strategy("mirrored", ["/cpu:0", "/cpu:1"]), args.width)
    directory = tempfile.mkdtemp()
    for model in (single, mirrored):
        timed_fit(model, ds, args.warmup)

    seconds = {"1_replica": [], "2_replicas": [], "checkpointing": []}
    checkpoint_seconds = []
    for _ in range(args.repeats):
        seconds["1_replica"].append(timed_fit(single, ds, args.steps))
        seconds["2_replicas"].append(timed_fit(mirrored, ds, args.steps))
        callback = TrainingCheckpoint(
            directory, every_n_steps=args.checkpoint_every, save_on_train_end=False
        )
        seconds["checkpointing"].append(timed_fit(single, ds, args.steps, [callback]))
        checkpoint_seconds.append(callback.seconds_saving)

    def rate(key):
        best = min(seconds[key])
        return {
            "seconds_per_step": best / args.steps,
            "images_per_second": args.batch_size * args.steps / best,
            "all_runs_seconds": seconds[key],
        }

    checkpoint_file = max(
        (os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory)),
        default=0,
    )
    result = {
        "benchmark": "SS-GAN training throughput (keras_ssl.training)",
        "command": "nice -n 10 python tools/benchmark_training.py "
        + " ".join(sys.argv[1:]),
        "setup": {
            "method": "ssgan",
            "architecture": "compare_gan ResNet 32x32",
            "width": args.width,
            "global_batch_size": args.batch_size,
            "data": f"shared CIFAR-10 test split, {args.limit} images",
            "devices": "host CPU split into two logical devices /cpu:0, /cpu:1",
            "cpu_cores": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "machine": platform.processor() or platform.machine(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "timed_steps": args.steps,
            "warmup_steps": args.warmup,
            "repeats": args.repeats,
            "statistic": "best of repeats (least disturbed by other load)",
        },
        "1_replica": rate("1_replica"),
        "2_replicas": rate("2_replicas"),
        "checkpoint_every_n_steps": {
            "n": args.checkpoint_every,
            **rate("checkpointing"),
            "seconds_writing_checkpoints": checkpoint_seconds,
            "checkpoint_file_bytes": checkpoint_file,
        },
    }
    result["speedup_2_vs_1_replica"] = (
        result["2_replicas"]["images_per_second"]
        / result["1_replica"]["images_per_second"]
    )
    result["checkpoint_overhead_ratio"] = (
        result["checkpoint_every_n_steps"]["seconds_per_step"]
        / result["1_replica"]["seconds_per_step"]
    )
    writes = args.repeats * (args.steps // args.checkpoint_every)
    result["checkpoint_every_n_steps"]["seconds_per_checkpoint"] = (
        sum(checkpoint_seconds) / writes if writes else None
    )
    result["checkpoint_writer_fraction_of_training_time"] = sum(
        checkpoint_seconds
    ) / sum(seconds["checkpointing"])
    result["load_average_at_end"] = os.getloadavg()
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
