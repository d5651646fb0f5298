"""Streaming first and second moments of feature vectors."""

import os

import numpy as np

from keras_ssl.utils.validation import check_int

_FORMAT_VERSION = 1


def check_features(features, name="features", dim=None):
    """Returns `features` as a finite float64 (N, D) array or raises.

    Shared by every metric so that bad features fail the same way everywhere.
    """
    array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (num_samples, feature_dim). "
            f"Received: {name} with shape {array.shape}"
        )
    if not (
        np.issubdtype(array.dtype, np.floating)
        or np.issubdtype(array.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} must hold real numbers. Received: {name} with dtype {array.dtype}"
        )
    array = array.astype(np.float64, copy=False)
    if dim is not None and array.shape[1] != dim:
        raise ValueError(
            f"{name} must have feature dimension {dim} to match the other "
            f"features. Received: {name} with shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.all(np.isfinite(array), axis=1)))
        raise ValueError(
            f"{name} must be finite. Received: {name} with {bad} of "
            f"{array.shape[0]} rows containing NaN or Inf"
        )
    return array


def check_same_extractor(mine, theirs, name):
    """Raises when two known extractor names differ (None: unknown)."""
    if mine is not None and theirs is not None and mine != theirs:
        raise ValueError(
            f"{name} comes from another feature extractor, so the features do "
            f"not compare. Received: extractor {theirs!r}, expected {mine!r}"
        )


class FeatureStatistics:
    """Streaming mean and covariance of feature vectors, in float64.

    The reference statistics of a dataset (the `mu` and `Sigma` of the FID of
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
    a Local Nash Equilibrium", NeurIPS 2017) are computed once over any
    number of batches, merged across shards, and cached on disk, so 50,000
    samples never have to be held in memory. Batches are combined with the
    pairwise update of Chan, Golub & LeVeque (1979), which stays accurate
    when the mean is large compared to the spread.

    Args:
        keep_features: number of raw feature rows to keep next to the
            moments, a uniform random sample of all rows seen (reservoir
            sampling, so class-sorted data still gives a representative
            sample). KID needs features, not moments, so a saved reference
            with kept features serves FID and KID. Defaults to 0 (moments
            only).
        seed: seed of the reservoir sampling.
        extractor: a short name of the features' extractor (e.g.
            "fid_inception:<digest>"), saved with the statistics so that
            features of different extractors are never compared; None when
            unknown.

    Example:

    >>> import numpy as np
    >>> stats = FeatureStatistics()
    >>> x = np.random.default_rng(0).normal(size=(100, 4))
    >>> for batch in np.split(x, 4):
    ...     _ = stats.update(batch)
    >>> stats.count
    100
    >>> bool(np.allclose(stats.covariance, np.cov(x, rowvar=False)))
    True
    """

    def __init__(self, keep_features=0, seed=None, extractor=None):
        self.keep_features = check_int(keep_features, "keep_features", minimum=0)
        if extractor is not None and not isinstance(extractor, str):
            raise TypeError(
                f"extractor must be a string or None. Received: extractor={extractor!r}"
            )
        self.extractor = extractor
        self._rng = np.random.default_rng(seed)
        self._count = 0
        self._mean = None
        self._m2 = None
        self._kept = None

    @classmethod
    def from_features(cls, features, keep_features=0, seed=None):
        """Statistics of one (N, D) array of features."""
        stats = cls(keep_features=keep_features, seed=seed)
        stats.update(features)
        return stats

    @property
    def count(self):
        """Number of feature vectors seen."""
        return self._count

    @property
    def dim(self):
        """Feature dimension, or None before the first update."""
        return None if self._mean is None else self._mean.shape[0]

    @property
    def mean(self):
        """Mean feature vector, float64 (D,)."""
        self._require(1, "mean")
        return self._mean.copy()

    @property
    def covariance(self):
        """Unbiased covariance (divided by count - 1), float64 (D, D)."""
        self._require(2, "covariance")
        return self._m2 / (self._count - 1)

    @property
    def features(self):
        """The kept raw features (float64 (M, D)), or None if none kept.

        M = min(keep_features, count); while count <= keep_features they
        are all rows, in order.
        """
        if self._kept is None or self._kept.shape[0] == 0:
            return None
        return self._kept.copy()

    def _require(self, minimum, what):
        if self._count < minimum:
            raise ValueError(
                f"The {what} needs at least {minimum} feature vectors. "
                f"Received: count={self._count}"
            )

    def _keep(self, features):
        """Reservoir sampling (Vitter's algorithm R), vectorised per batch."""
        if self.keep_features == 0:
            return
        if self._kept is None:
            self._kept = np.empty((0, features.shape[1]), np.float64)
        seen = self._count - features.shape[0]
        room = self.keep_features - self._kept.shape[0]
        if room > 0:
            self._kept = np.concatenate([self._kept, features[:room]])
            features, seen = features[room:], seen + room
        if features.shape[0] == 0:
            return
        # Row number t (0-based) replaces a uniform slot j in [0, t] if j
        # falls inside the reservoir; later rows win, as in the serial loop.
        slots = self._rng.integers(0, seen + np.arange(features.shape[0]) + 1)
        chosen = np.flatnonzero(slots < self.keep_features)
        last = {int(slots[i]): i for i in chosen}
        if last:
            self._kept[list(last)] = features[list(last.values())]

    def update(self, features):
        """Adds a batch of features of shape (N, D). Returns `self`."""
        features = check_features(features, "features", dim=self.dim)
        n = features.shape[0]
        if n == 0:
            return self
        batch_mean = features.mean(axis=0)
        centered = features - batch_mean
        self._combine(n, batch_mean, centered.T @ centered)
        self._keep(features)
        return self

    def merge(self, other):
        """Adds the statistics of another accumulator. Returns `self`."""
        if not isinstance(other, FeatureStatistics):
            raise TypeError(
                "other must be a FeatureStatistics. "
                f"Received: other of type {type(other).__name__}"
            )
        if other.count == 0:
            return self
        check_same_extractor(self.extractor, other.extractor, "other")
        if self.extractor is None:
            self.extractor = other.extractor
        if self.dim is not None and other.dim != self.dim:
            raise ValueError(
                f"other must have feature dimension {self.dim}. "
                f"Received: other with feature dimension {other.dim}"
            )
        if self.keep_features and other.count > 0 and other.features is None:
            raise ValueError(
                "other must keep features when this accumulator does, or the "
                "merged sample would not be uniform. Received: other with "
                f"keep_features={other.keep_features}"
            )
        mine, theirs = self._count, other._count
        self._combine(other._count, other._mean, other._m2)
        if self.keep_features:
            self._merge_kept(mine, theirs, other.features)
        return self

    def _merge_kept(self, mine, theirs, other_kept):
        dim = self._mean.shape[0]
        own = self._kept if self._kept is not None else np.empty((0, dim))
        if other_kept is None:
            other_kept = np.empty((0, dim))
        if own.shape[0] == mine and other_kept.shape[0] == theirs:
            if mine + theirs <= self.keep_features:
                self._kept = np.concatenate([own, other_kept])
                return
        # Both sides hold uniform samples of min(keep, count) rows: draw how
        # many rows of a uniform sample of the union come from each side
        # (hypergeometric), then sub-sample each side uniformly.
        size = min(self.keep_features, mine + theirs)
        from_mine = (
            int(self._rng.hypergeometric(mine, theirs, size)) if theirs else size
        )
        pick_mine = self._rng.choice(own.shape[0], from_mine, replace=False)
        pick_theirs = self._rng.choice(
            other_kept.shape[0], size - from_mine, replace=False
        )
        self._kept = np.concatenate([own[pick_mine], other_kept[pick_theirs]])

    def _combine(self, n, mean, m2):
        if self._count == 0:
            self._count, self._mean, self._m2 = n, mean.copy(), m2.copy()
            return
        total = self._count + n
        delta = mean - self._mean
        self._mean = self._mean + delta * (n / total)
        self._m2 = self._m2 + m2 + np.outer(delta, delta) * (self._count * n / total)
        self._count = total

    def save(self, path):
        """Writes the statistics to `path` (`.npz`), atomically."""
        self._require(1, "saved statistics")
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise ValueError(f"path must end with '.npz'. Received: path={path!r}")
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp.npz"
        kept = self.features
        np.savez(
            temporary,
            version=np.int64(_FORMAT_VERSION),
            count=np.int64(self._count),
            mean=self._mean,
            m2=self._m2,
            keep_features=np.int64(self.keep_features),
            features=(
                kept if kept is not None else np.zeros((0, self.dim), np.float64)
            ),
            extractor=np.str_(self.extractor or ""),
        )
        os.replace(temporary, path)

    @classmethod
    def load(cls, path):
        """Reads statistics written by `save`."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No feature statistics at path={path!r}")
        with np.load(path) as data:
            missing = {"version", "count", "mean", "m2"} - set(data.files)
            if missing:
                raise ValueError(
                    f"path must be a file written by FeatureStatistics.save. "
                    f"Received: path={path!r} without {sorted(missing)}"
                )
            extractor = str(data["extractor"]) if "extractor" in data.files else ""
            stats = cls(
                keep_features=int(data["keep_features"]), extractor=extractor or None
            )
            stats._count = int(data["count"])
            stats._mean = data["mean"].astype(np.float64)
            stats._m2 = data["m2"].astype(np.float64)
            if data["features"].shape[0]:
                stats._kept = data["features"].astype(np.float64)
        return stats

    def __repr__(self):
        extractor = f", extractor={self.extractor!r}" if self.extractor else ""
        return f"FeatureStatistics(count={self._count}, dim={self.dim}{extractor})"
