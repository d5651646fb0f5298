import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl import data
from keras_ssl.evaluation import (
    FeatureStatistics,
    compute_statistics,
    extract_features,
    fid,
    frechet_distance,
    inception_score_of,
    kid,
)
from tests.helpers import cifar10_path


def pixel_extractor(images):
    """Channel means and a coarse pixel grid: 3 + 12 features."""
    images = np.asarray(images)
    return np.concatenate(
        [images.mean(axis=(1, 2)), images[:, ::4, ::4, :].reshape(len(images), -1)],
        axis=1,
    )[:, :15]


def _images(rng, n, shift=0.0):
    x = rng.uniform(-0.6, 0.6, size=(n, 8, 8, 3)) + shift
    return np.clip(x, -1, 1).astype(np.float32)


class NoiseGenerator:
    """generate(n, seed) -> uint8 images, like the methods' generators."""

    def __init__(self, level):
        self.level = level
        self.calls = []

    def generate(self, n, seed=None):
        self.calls.append((n, seed))
        rng = np.random.default_rng(seed)
        x = 127.5 + self.level * rng.normal(size=(n, 8, 8, 3))
        return np.clip(x, 0, 255).astype(np.uint8)


def test_fid_of_arrays_equals_the_moments_of_the_features():
    rng = np.random.default_rng(0)
    a, b = _images(rng, 300), _images(rng, 200, shift=0.2)
    fa, fb = pixel_extractor(a), pixel_extractor(b)
    expected = frechet_distance(
        fa.mean(0), np.cov(fa, rowvar=False), fb.mean(0), np.cov(fb, rowvar=False)
    )
    value = fid(a, b, pixel_extractor, batch_size=64, verbose=False)
    assert value == pytest.approx(expected, rel=1e-6)
    assert fid(a, a, pixel_extractor, verbose=False) == pytest.approx(0, abs=1e-8)


def test_uint8_arrays_are_read_as_0_255():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(100, 8, 8, 3), dtype=np.uint8)
    as_float = raw.astype(np.float32) / 127.5 - 1
    reference = _images(rng, 120)
    assert fid(raw, reference, pixel_extractor, verbose=False) == pytest.approx(
        fid(as_float, reference, pixel_extractor, verbose=False), rel=1e-6
    )


def test_datasets_batched_or_not_with_labels_or_not():
    rng = np.random.default_rng(0)
    a, b = _images(rng, 150), _images(rng, 130, shift=0.1)
    labels = np.zeros(150, np.int32)
    expected = fid(a, b, pixel_extractor, verbose=False)
    sources = [
        tf.data.Dataset.from_tensor_slices(a).batch(32),
        tf.data.Dataset.from_tensor_slices((a, labels)).batch(17),
        tf.data.Dataset.from_tensor_slices((a, labels)),
        tf.data.Dataset.from_tensor_slices({"images": a}).batch(50),
    ]
    for source in sources:
        value = fid(source, b, pixel_extractor, batch_size=40, verbose=False)
        assert value == pytest.approx(expected, rel=1e-6)
    # num_samples takes the first images of a dataset, across batches.
    first = fid(a[:70], b, pixel_extractor, verbose=False)
    assert fid(sources[0], b, pixel_extractor, num_samples=70, verbose=False) == (
        pytest.approx(first, rel=1e-6)
    )
    endless = tf.data.Dataset.from_tensor_slices(a).batch(32).repeat()
    assert fid(endless, b, pixel_extractor, num_samples=400, verbose=False) > 0
    with pytest.raises(ValueError, match="repeats forever.*num_samples"):
        fid(endless, b, pixel_extractor, verbose=False)
    with pytest.raises(ValueError, match="at most the 150.*num_samples=151"):
        fid(sources[0], b, pixel_extractor, num_samples=151, verbose=False)


def test_saved_reference_statistics_give_the_same_fid(tmp_path):
    rng = np.random.default_rng(0)
    fake, reference = _images(rng, 200), _images(rng, 220, shift=0.15)
    direct = fid(fake, reference, pixel_extractor, verbose=False)
    stats = compute_statistics(
        reference, pixel_extractor, batch_size=33, keep_features=220, verbose=False
    )
    stats.save(tmp_path / "ref.npz")
    loaded = FeatureStatistics.load(tmp_path / "ref.npz")
    assert fid(fake, loaded, pixel_extractor, verbose=False) == pytest.approx(
        direct, rel=1e-6
    )
    k_direct = kid(
        fake, reference, pixel_extractor, subset_size=150, seed=3, verbose=False
    )
    k_loaded = kid(
        fake, loaded, pixel_extractor, subset_size=150, seed=3, verbose=False
    )
    assert k_loaded == pytest.approx(k_direct, rel=1e-6)
    assert k_direct[0] > 0


def test_generator_source_is_seeded_chunked_and_ordered_by_quality():
    rng = np.random.default_rng(0)
    reference = np.clip(127.5 + 20 * rng.normal(size=(600, 8, 8, 3)), 0, 255).astype(
        np.uint8
    )
    stats = compute_statistics(reference, pixel_extractor, verbose=False)
    close, far = NoiseGenerator(20), NoiseGenerator(60)
    options = {"num_samples": 250, "batch_size": 100, "seed": 7, "verbose": False}
    value_close = fid(close, stats, pixel_extractor, **options)
    assert close.calls == [(100, 7), (100, 8), (50, 9)]
    assert fid(close, stats, pixel_extractor, **options) == value_close
    value_far = fid(far, stats, pixel_extractor, num_samples=250, verbose=False)
    assert value_far > 5 * value_close
    features = extract_features(close, pixel_extractor, num_samples=10, verbose=False)
    assert features.shape == (10, 15)


def test_inception_score_of_confident_logits():
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 4, size=400)
    images = np.zeros((400, 2, 2, 3), np.float32)
    images[:, 0, 0, 0] = classes / 4

    def extractor(x):
        index = np.round(x[:, 0, 0, 0] * 4).astype(int)
        return {"features": x.reshape(len(x), -1), "logits": 50.0 * np.eye(4)[index]}

    mean, _ = inception_score_of(images, extractor, splits=1, verbose=False)
    counts = np.bincount(classes, minlength=4) / 400
    # The score of confident predictions is exp(H(p(y))).
    assert mean == pytest.approx(np.exp(-np.sum(counts * np.log(counts))), rel=1e-6)
    with pytest.raises(ValueError, match="logits"):
        inception_score_of(images, pixel_extractor, verbose=False)


def test_progress_bar_is_shown_and_can_be_silenced(capsys):
    images = _images(np.random.default_rng(0), 64)
    compute_statistics(images, pixel_extractor, batch_size=32, verbose=True)
    assert "64/64" in capsys.readouterr().out
    compute_statistics(images, pixel_extractor, batch_size=32, verbose=False)
    assert capsys.readouterr().out == ""


def test_keras_model_extractor_gets_resized_inputs():
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Flatten()(inputs))
    big = _images(np.random.default_rng(0), 10)
    features = extract_features(big, model, verbose=False)
    assert features.shape == (10, 48)


def test_bad_inputs_are_clear_errors():
    rng = np.random.default_rng(0)
    good = _images(rng, 20)
    with pytest.raises(ValueError, match="\\[-1, 1\\].*Received: values in"):
        fid(good * 255, good, pixel_extractor, verbose=False)
    with pytest.raises(TypeError, match="uint8.*int64"):
        fid(np.zeros((4, 8, 8, 3), np.int64), good, pixel_extractor, verbose=False)
    with pytest.raises(ValueError, match="shape \\(N, H, W, C\\).*\\(20, 8, 8\\)"):
        fid(good[..., 0], good, pixel_extractor, verbose=False)
    with pytest.raises(TypeError, match="generate.*str"):
        fid("images", good, pixel_extractor, verbose=False)

    def nan_extractor(x):
        out = pixel_extractor(x)
        out[0, 0] = np.nan
        return out

    with pytest.raises(ValueError, match="finite"):
        fid(good, good, nan_extractor, verbose=False)
    reference = FeatureStatistics().update(rng.normal(size=(30, 9)))
    with pytest.raises(ValueError, match="dimension 15.*dimension 9"):
        fid(good, reference, pixel_extractor, verbose=False)
    with pytest.raises(ValueError, match="keep_features"):
        kid(good, reference, pixel_extractor, verbose=False)
    with pytest.raises(ValueError, match="features of shape \\(20, D\\)"):
        fid(good, good, lambda x: x, verbose=False)
    with pytest.raises(ValueError, match="at least 2.*count=1"):
        fid(good[:1], good, pixel_extractor, verbose=False)


def test_fid_on_real_images_grows_with_corruption():
    path = cifar10_path("test")
    images, _ = data.load_arrays(path, split="test", limit=600, seed=0)
    half_a, half_b = images[:300], images[300:]
    stats = compute_statistics(half_a, pixel_extractor, verbose=False)
    rng = np.random.default_rng(0)
    values = [
        fid(
            np.clip(half_b + level * rng.normal(size=half_b.shape), -1, 1).astype(
                np.float32
            ),
            stats,
            pixel_extractor,
            verbose=False,
        )
        for level in (0.0, 0.2, 0.5)
    ]
    assert values[0] < values[1] < values[2]
