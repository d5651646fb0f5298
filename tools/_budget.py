"""Scaffolding shared by the benchmarks in tools/: CPU-time budgets, CIFAR
subsets, linear-probe/kNN evaluation and merged JSON results.

A benchmark script puts the repository root on `sys.path` (as every script in
tools/ does) and imports from here:

    from tools._budget import CpuBudget, fit_for_budget, load_cifar, probe

Training is budgeted in process CPU seconds (`time.process_time`), so that a
busy shared machine does not shorten a run; throughput excludes the first
step (tracing).
"""

import contextlib
import fcntl
import json
import pathlib
import tempfile
import time

import keras
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpeg"


class CpuBudget(keras.callbacks.Callback):
    """Stop training once the process has used `seconds` of CPU time.

    `summary()` gives the steps, images seen, CPU and wall seconds, and the
    throughput in images per CPU second and per wall second (first step,
    which includes tracing, excluded).
    """

    def __init__(self, seconds, batch_size):
        super().__init__()
        self.seconds = seconds
        self.batch_size = batch_size

    def on_train_begin(self, logs=None):
        self.cpu_start = time.process_time()
        self.wall_start = time.perf_counter()
        self.steps = 0
        self.after_first = None

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == 1:
            # The first step includes tracing; throughput excludes it.
            self.after_first = (time.process_time(), time.perf_counter())
        if time.process_time() - self.cpu_start >= self.seconds:
            self.model.stop_training = True

    def summary(self):
        cpu_end, wall_end = time.process_time(), time.perf_counter()
        cpu0, wall0 = self.after_first or (self.cpu_start, self.wall_start)
        images = max(self.steps - 1, 1) * self.batch_size
        return {
            "steps": self.steps,
            "train_images_seen": self.steps * self.batch_size,
            "cpu_seconds": round(cpu_end - self.cpu_start, 1),
            "wall_seconds": round(wall_end - self.wall_start, 1),
            "images_per_wall_second": round(images / max(wall_end - wall0, 1e-9), 1),
            "images_per_cpu_second": round(images / max(cpu_end - cpu0, 1e-9), 1),
        }


def last_metrics(history):
    """The last epoch's value of every metric of a `History`, rounded."""
    return {k: round(float(v[-1]), 4) for k, v in history.history.items()}


def fit_for_budget(model, data, seconds, images_per_step, callbacks=(), **fit_kwargs):
    """`model.fit(data, ...)` until `seconds` of process CPU time are used.

    The model must be compiled. `images_per_step` is the number of images a
    step trains on (for the throughput); `fit_kwargs` go to `fit` (e.g.
    `batch_size` and `shuffle` for arrays, `steps_per_epoch` for a repeated
    dataset). Returns `(CpuBudget.summary(), last_metrics(history))`.
    """
    budget = CpuBudget(seconds, images_per_step)
    fit_kwargs.setdefault("epochs", 1000)
    fit_kwargs.setdefault("verbose", 0)
    history = model.fit(data, callbacks=[budget, *callbacks], **fit_kwargs)
    return budget.summary(), last_metrics(history)


def probe(encoder, train, test, layers=None, epochs=20, k=200):
    """Linear probe (per layer) and weighted kNN of a frozen encoder.

    `train` and `test` are `(images, labels)`; `layers` are the encoder's
    layer names to probe (None: its output). k is capped at the number of
    training images. Returns `linear_probe` (per layer), `linear_probe_best`
    and `knn_accuracy`, rounded to 4 digits.
    """
    from keras_ssl.evaluation import knn_accuracy, linear_probe

    linear = linear_probe(encoder, train, test, layers=layers, epochs=epochs, seed=0)
    knn = knn_accuracy(encoder, train, test, k=min(k, len(train[0])))
    return {
        "linear_probe": {name: round(v, 4) for name, v in linear.items()},
        "linear_probe_best": round(max(linear.values()), 4),
        "knn_accuracy": round(knn, 4),
    }


def load_cifar(train_limit, test_limit, test_seed=0, shuffle_test=True):
    """Seeded subsets of the shared CIFAR-10 JPEG copy, 32x32 in [-1, 1].

    Returns a dict of `train_x`, `train_y`, `test_x`, `test_y`. The subsets
    come ordered by class; with `shuffle_test` the test subset is permuted
    (seed 0), so that slicing it into parts does not split by class.
    """
    from keras_ssl.data import load_arrays

    train_x, train_y = load_arrays(
        str(CIFAR / "train.zip"),
        split="train",
        image_size=32,
        limit=train_limit,
        seed=0,
    )
    test_x, test_y = load_arrays(
        str(CIFAR / "test.zip"),
        split="test",
        image_size=32,
        limit=test_limit,
        seed=test_seed,
    )
    if shuffle_test:
        order = np.random.default_rng(0).permutation(len(test_x))
        test_x, test_y = test_x[order], test_y[order]
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}


@contextlib.contextmanager
def _locked(path):
    # Benchmarks may run in parallel processes that share one output file.
    lock_path = pathlib.Path(tempfile.gettempdir()) / f"{path.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def merge_json(path, update):
    """Update the JSON object in `path` (created if missing) and return it.

    `update` is a dict merged at the top level, or a function that takes the
    current object and changes it in place. The read-change-write holds a
    file lock, so parallel runs do not lose each other's entries.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        results = json.loads(path.read_text()) if path.exists() else {}
        if callable(update):
            update(results)
        else:
            results.update(update)
        path.write_text(json.dumps(results, indent=2) + "\n")
    return results
