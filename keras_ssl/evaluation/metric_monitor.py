"""FID / KID of a generator during training, as a Keras callback."""

import math

import keras

from keras_ssl.evaluation.feature_statistics import FeatureStatistics
from keras_ssl.evaluation.generative import _collect, compute_statistics
from keras_ssl.evaluation.metrics import (
    frechet_distance,
    kernel_inception_distance,
)
from keras_ssl.utils.validation import check_int

_METRICS = ("fid", "kid")


class MetricMonitor(keras.callbacks.Callback):
    """Computes FID and KID of `model.generate` every `every` epochs.

    The samples come from fixed noise (`generate(n, seed=seed + i)` for
    chunk i, when `generate` takes a seed), so the curve measures the
    generator, not the sampling. The values are written into `logs` as
    `fid`, `kid` and `kid_std`, so `History`, `CSVLogger` and `TensorBoard`
    record them: list this callback BEFORE those in `callbacks=[...]`.
    Epochs without an evaluation get NaN, which keeps every epoch's row the
    same shape (CSVLogger fixes its columns at the first epoch).

    Args:
        reference: a `FeatureStatistics` (with `keep_features > 0` if KID is
            wanted), or an image array / dataset whose statistics are
            computed once, at the start of training.
        extractor: callable or Keras model (the extractor protocol of
            `keras_ssl.evaluation`).
        every: evaluate after every `every`-th epoch (and the last one).
        num_samples: generated images per evaluation.
        batch_size: images per `generate` and extractor call.
        metrics: a subset of ("fid", "kid").
        reference_samples: reference images used when `reference` is
            images (None: all).
        kid_reference_samples: reference features kept for KID (a uniform
            random sample) when `reference` is images.
        kid_subset_size: None: min(1000, num_samples, reference size).
        kid_subsets: number of KID subsets.
        seed: seed of the fixed noise and of the KID subsets.
        verbose: print the values when computed.

    Example:

    >>> import numpy as np
    >>> reference = np.random.default_rng(0).uniform(-1, 1, (64, 4, 4, 3))
    >>> monitor = MetricMonitor(reference, lambda x: x.reshape(len(x), -1),
    ...     every=2, num_samples=64)
    >>> monitor.every
    2
    """

    def __init__(
        self,
        reference,
        extractor,
        every=1,
        num_samples=10000,
        batch_size=100,
        metrics=_METRICS,
        reference_samples=None,
        kid_reference_samples=10000,
        kid_subset_size=None,
        kid_subsets=100,
        seed=0,
        verbose=0,
    ):
        super().__init__()
        check_int(every, "every")
        if isinstance(metrics, str):
            metrics = (metrics,)
        metrics = tuple(metrics)
        if not metrics or any(m not in _METRICS for m in metrics):
            raise ValueError(
                f"metrics must be a non-empty subset of {_METRICS}. "
                f"Received: metrics={metrics!r}"
            )
        if (
            "kid" in metrics
            and isinstance(reference, FeatureStatistics)
            and reference.features is None
        ):
            raise ValueError(
                "KID needs raw reference features: build the reference "
                "FeatureStatistics with keep_features > 0, or drop 'kid' from "
                "metrics. Received: statistics without kept features"
            )
        self.reference = reference
        self.extractor = extractor
        self.every = every
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.metrics_to_compute = metrics
        self.reference_samples = reference_samples
        self.kid_reference_samples = kid_reference_samples
        self.kid_subset_size = kid_subset_size
        self.kid_subsets = kid_subsets
        self.seed = seed
        self.verbose = verbose
        self._statistics = None
        self._epochs = None

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, "generate", None)):
            raise TypeError(
                "MetricMonitor needs a model with generate(n). Received: "
                f"{type(self.model).__name__}"
            )
        self._epochs = self.params.get("epochs") if self.params else None
        if self._statistics is None:
            if isinstance(self.reference, FeatureStatistics):
                self._statistics = self.reference
            else:
                keep = (
                    self.kid_reference_samples
                    if "kid" in self.metrics_to_compute
                    else 0
                )
                self._statistics = compute_statistics(
                    self.reference,
                    self.extractor,
                    num_samples=self.reference_samples,
                    batch_size=self.batch_size,
                    keep_features=keep,
                    seed=self.seed,
                    verbose=False,
                )

    def compute(self):
        """Returns {"fid": ..., "kid": ..., "kid_std": ...} for the model now."""
        features, _ = _collect(
            self.model,
            self.extractor,
            "model",
            self.num_samples,
            self.batch_size,
            self.seed,
            False,
        )
        stats = self._statistics
        values = {}
        if "fid" in self.metrics_to_compute:
            fake = FeatureStatistics.from_features(features)
            values["fid"] = frechet_distance(
                fake.mean, fake.covariance, stats.mean, stats.covariance
            )
        if "kid" in self.metrics_to_compute:
            reference = stats.features
            size = self.kid_subset_size or min(
                1000, features.shape[0], reference.shape[0]
            )
            values["kid"], values["kid_std"] = kernel_inception_distance(
                features,
                reference,
                num_subsets=self.kid_subsets,
                subset_size=size,
                seed=self.seed,
            )
        return values

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        last = self._epochs is not None and epoch + 1 == self._epochs
        if (epoch + 1) % self.every == 0 or last:
            values = self.compute()
            if self.verbose:
                text = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                print(f"\nEpoch {epoch + 1}: {text}")
        else:
            values = {}
            if "fid" in self.metrics_to_compute:
                values["fid"] = math.nan
            if "kid" in self.metrics_to_compute:
                values.update(kid=math.nan, kid_std=math.nan)
        logs.update(values)
