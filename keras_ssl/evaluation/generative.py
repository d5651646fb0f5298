"""FID, KID and Inception Score of generators, arrays and datasets.

Every function streams the images through an extractor in batches, so
50,000 samples are never held in memory as images. `fake` and `reference`
may be:

- a generator model: anything with `generate(n)` returning uint8 images
  (n, H, W, C) in [0, 255] (float in [-1, 1] is accepted too); with `seed`
  given and a `generate(n, seed=...)` signature, chunk `i` uses `seed + i`,
  so the samples are fixed for a fixed `batch_size`;
- an array (N, H, W, C), or a tuple whose first item is one: uint8 is taken
  as [0, 255], float must be in [-1, 1];
- a `tf.data.Dataset` of images, `(images, labels)` or `{"images": ...}`
  in [-1, 1] (as `keras_ssl.data.load` yields), batched or not;
- for `reference` only, a `FeatureStatistics` (computed once with
  `compute_statistics` and saved).

`extractor` is "fid_inception" by default (the FID Inception network of
published numbers; its weights must be available, see
`fid_inception_extractor`), "inception_keras" (Keras' InceptionV3, not
comparable with papers), or any extractor: a callable or Keras model (see
`keras_ssl.evaluation`). Features are accumulated in float64; the values do
not depend on `batch_size` (up to float32 rounding of the extractor).
"""

import numpy as np

from keras_ssl.evaluation import _sources
from keras_ssl.evaluation.extractors import extractor_id, get_extractor
from keras_ssl.evaluation.feature_statistics import (
    FeatureStatistics,
    check_same_extractor,
)
from keras_ssl.evaluation.metrics import (
    frechet_distance,
    inception_score,
    kernel_inception_distance,
)


def compute_statistics(
    source,
    extractor="fid_inception",
    num_samples=None,
    batch_size=100,
    keep_features=0,
    seed=None,
    verbose="auto",
):
    """Streams `source` through `extractor` into a `FeatureStatistics`.

    Args:
        source: generator model, image array or dataset (see module doc).
        extractor: "fid_inception" (default), "inception_keras" or an
            extractor (see `keras_ssl.evaluation` for the protocol).
        num_samples: images to use; None uses all of an array or dataset
            and 10,000 samples of a generator.
        batch_size: images per extractor call.
        keep_features: raw feature rows to keep for KID (a uniform random
            sample of all rows).
        seed: seed of a generator's samples and of the kept sample.
        verbose: progress bar: True, False or "auto" (from 5,000 samples).

    Returns:
        A `FeatureStatistics`; `.save(path)` caches it.

    Example:

    >>> import numpy as np
    >>> images = np.zeros((8, 4, 4, 3), np.uint8)
    >>> extractor = lambda x: x.reshape(len(x), -1)[:, :5]
    >>> compute_statistics(images, extractor, verbose=False).count
    8
    """
    extractor = get_extractor(extractor)
    stats = FeatureStatistics(
        keep_features=keep_features, seed=seed, extractor=extractor_id(extractor)
    )
    _sources.stream(
        source,
        extractor,
        "source",
        num_samples,
        batch_size,
        seed,
        verbose,
        lambda features, logits: stats.update(features),
    )
    return stats


def extract_features(
    source,
    extractor="fid_inception",
    num_samples=None,
    batch_size=100,
    seed=None,
    verbose="auto",
):
    """Features of `source` as one float32 array (N, D).

    Same arguments as `compute_statistics`; holds all features in memory.
    """
    features, _ = _collect(
        source,
        get_extractor(extractor),
        "source",
        num_samples,
        batch_size,
        seed,
        verbose,
    )
    return features


def _collect(source, extractor, name, num_samples, batch_size, seed, verbose):
    extractor = get_extractor(extractor)
    features, logits = [], []

    def keep(f, lg):
        features.append(np.asarray(f, np.float32))
        logits.append(None if lg is None else np.asarray(lg, np.float32))

    _sources.stream(
        source, extractor, name, num_samples, batch_size, seed, verbose, keep
    )
    if any(lg is None for lg in logits):
        all_logits = None
    else:
        all_logits = np.concatenate(logits)
    return np.concatenate(features), all_logits


def _reference_statistics(reference, extractor, reference_samples, batch_size, verbose):
    if isinstance(reference, FeatureStatistics):
        check_same_extractor(extractor_id(extractor), reference.extractor, "reference")
        return reference
    stats = FeatureStatistics(extractor=extractor_id(extractor))
    _sources.stream(
        reference,
        extractor,
        "reference",
        reference_samples,
        batch_size,
        None,
        verbose,
        lambda features, logits: stats.update(features),
    )
    return stats


def fid(
    fake,
    reference,
    extractor="fid_inception",
    num_samples=None,
    batch_size=100,
    reference_samples=None,
    seed=None,
    verbose="auto",
):
    """Frechet Inception Distance between `fake` and `reference` images.

    Heusel et al., NeurIPS 2017: the Frechet distance of Gaussians fitted to
    the extractor's features. With "fid_inception" (the default) this is
    the FID of published tables (pytorch-fid's protocol, see
    docs/evaluation.md); "inception_keras" (Keras' InceptionV3) gives values
    that do not compare with papers; with `domain_extractor(...)` it is
    "FID (domain features)".
    The value depends on the number of samples (it is biased upwards for
    small N), so compare numbers computed with the same N.

    Args:
        fake: generator model, image array or dataset (see module doc).
        reference: image array, dataset or `FeatureStatistics` (computed
            with the same extractor).
        extractor: "fid_inception", "inception_keras", or a callable or
            Keras model (the extractor protocol).
        num_samples: fake images to use; None: all of an array or dataset,
            10,000 from a generator.
        batch_size: images per extractor call.
        reference_samples: reference images to use (None: all).
        seed: seed of a generator's samples.
        verbose: progress bar: True, False or "auto" (from 5,000 samples).

    Returns:
        FID as a Python float.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.uniform(-1, 1, (64, 4, 4, 3)).astype("float32")
    >>> extractor = lambda x: x.reshape(len(x), -1)[:, :4]
    >>> fid(a, a, extractor, verbose=False) < 1e-6
    True
    """
    extractor = get_extractor(extractor)
    ref = _reference_statistics(
        reference, extractor, reference_samples, batch_size, verbose
    )
    gen = compute_statistics(
        fake, extractor, num_samples, batch_size, seed=seed, verbose=verbose
    )
    if gen.dim != ref.dim:
        raise ValueError(
            f"fake and reference features must have the same dimension. "
            f"Received: fake features of dimension {gen.dim} and reference "
            f"of dimension {ref.dim}"
        )
    return frechet_distance(gen.mean, gen.covariance, ref.mean, ref.covariance)


def kid(
    fake,
    reference,
    extractor="fid_inception",
    num_samples=None,
    batch_size=100,
    reference_samples=None,
    num_subsets=100,
    subset_size=None,
    seed=None,
    verbose="auto",
):
    """Kernel Inception Distance between `fake` and `reference` images.

    Binkowski et al., ICLR 2018 (see `kernel_inception_distance`). Unlike
    FID it is unbiased, so values from different sample counts compare.

    Args:
        fake: generator model, image array or dataset (see module doc).
        reference: image array, dataset, or a `FeatureStatistics` that kept
            raw features (`keep_features > 0`).
        extractor: "fid_inception", "inception_keras", or a callable or
            Keras model (the extractor protocol).
        num_samples: fake images (None: all of an array or dataset, 10,000
            from a generator).
        batch_size: images per extractor call.
        reference_samples: reference images to use (None: all).
        num_subsets: random subsets averaged.
        subset_size: rows per subset; None: min(1000, both set sizes).
        seed: seed of a generator's samples and of the subsets.
        verbose: progress bar: True, False or "auto" (from 5,000 samples).

    Returns:
        (mean, std) of the MMD^2 estimates over subsets.
    """
    extractor = get_extractor(extractor)
    if isinstance(reference, FeatureStatistics):
        check_same_extractor(extractor_id(extractor), reference.extractor, "reference")
        ref_features = reference.features
        if ref_features is None:
            raise ValueError(
                "KID needs raw reference features: build the reference "
                "FeatureStatistics with keep_features > 0. Received: reference "
                "statistics without kept features"
            )
    else:
        ref_features, _ = _collect(
            reference,
            extractor,
            "reference",
            reference_samples,
            batch_size,
            None,
            verbose,
        )
    fake_features, _ = _collect(
        fake, extractor, "fake", num_samples, batch_size, seed, verbose
    )
    if subset_size is None:
        subset_size = min(1000, fake_features.shape[0], ref_features.shape[0])
    return kernel_inception_distance(
        fake_features,
        ref_features,
        num_subsets=num_subsets,
        subset_size=subset_size,
        seed=seed,
    )


def inception_score_of(
    fake,
    extractor="fid_inception",
    num_samples=None,
    batch_size=100,
    splits=10,
    seed=None,
    verbose="auto",
):
    """Inception Score of `fake` images from the extractor's logits.

    Salimans et al., NeurIPS 2016 (see `inception_score`). The extractor must
    return a dict with "logits"; a softmax turns them into probabilities.

    Args:
        fake: generator model, image array or dataset (see module doc).
        extractor: "fid_inception" (the 1008 logits of the 2015 graph, as
            published Inception Scores use), "inception_keras", or an
            extractor returning {"features": ..., "logits": ...}.
        num_samples: images (None: all of an array or dataset, 10,000 from a
            generator).
        batch_size: images per extractor call.
        splits: chunks the score is averaged over.
        seed: seed of a generator's samples.
        verbose: progress bar: True, False or "auto" (from 5,000 samples).

    Returns:
        (mean, std) over splits.
    """
    _, logits = _collect(
        fake, get_extractor(extractor), "fake", num_samples, batch_size, seed, verbose
    )
    if logits is None:
        raise ValueError(
            "inception_score_of needs an extractor returning a dict with "
            "'logits' (as inception_extractor and domain_extractor do). "
            "Received: an extractor returning features only"
        )
    if logits.ndim != 2:
        raise ValueError(
            f"The extractor's logits must have shape (N, K). Received: shape "
            f"{logits.shape}"
        )
    logits = logits.astype(np.float64)
    if not np.all(np.isfinite(logits)):
        raise ValueError("The extractor's logits must be finite. Received: NaN or Inf")
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return inception_score(probabilities, splits=splits)
