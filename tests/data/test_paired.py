import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_ssl.data import paired
from tests.helpers import cifar10_images, cifar10_path


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _side_by_side(root, count=3, size=8):
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(count):
        a = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        b = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        _write(root / "train" / f"{i}.png", np.concatenate([a, b], axis=1))
        pairs.append((a, b))
    return pairs


def _float(image):
    return image.astype("float32") / 127.5 - 1.0


def test_side_by_side_folder_splits_each_image_into_a_and_b(tmp_path):
    pairs = _side_by_side(tmp_path)
    ds = paired.load_paired(str(tmp_path), batch_size=3, shuffle=False)
    a, b = (np.asarray(x) for x in next(iter(ds)))
    for i, (want_a, want_b) in enumerate(pairs):
        np.testing.assert_allclose(a[i], _float(want_a), atol=1e-6)
        np.testing.assert_allclose(b[i], _float(want_b), atol=1e-6)
    swapped = paired.load_source(
        f"paired:{tmp_path},b_to_a", batch_size=3, shuffle=False
    )
    a2, b2 = (np.asarray(x) for x in next(iter(swapped)))
    np.testing.assert_array_equal(a2, b)
    np.testing.assert_array_equal(b2, a)


def test_parallel_folders_pair_images_by_name(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("x.png", "y.png"):
        image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        _write(tmp_path / "A" / name, image)
        _write(tmp_path / "B" / name, 255 - image)
    ds = paired.load_paired((str(tmp_path / "A"), str(tmp_path / "B")), batch_size=2)
    a, b = next(iter(ds))
    np.testing.assert_allclose(np.asarray(a), -np.asarray(b), atol=1e-6)
    _write(tmp_path / "C" / "z.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="No file names in common"):
        paired.load_paired((str(tmp_path / "A"), str(tmp_path / "C")))


def test_jitter_moves_a_and_b_together(tmp_path):
    _side_by_side(tmp_path, count=2, size=16)
    ds = paired.load_paired(str(tmp_path), batch_size=2, jitter=True, seed=0)
    # A folder whose B equals its A: jittered pairs must stay equal.
    for i in range(2):
        image = np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        _write(
            tmp_path / "same" / "train" / f"{i}.png", np.concatenate([image, image], 1)
        )
    same = paired.load_paired(str(tmp_path / "same"), batch_size=2, jitter=True, seed=0)
    a, b = next(iter(same))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    plain = paired.load_paired(str(tmp_path / "same"), batch_size=2, shuffle=False)
    assert tuple(next(iter(ds))[0].shape) == (2, 16, 16, 3)
    assert not np.allclose(np.asarray(a), np.asarray(next(iter(plain))[0]))


def test_unpaired_domains_from_classes_of_one_archive():
    zip_path = cifar10_path("test")
    ds = paired.load_source(
        f"unpaired:{zip_path}@automobile,{zip_path}@truck",
        split="test",
        batch_size=4,
        limit=200,
        seed=0,
    )
    a, b = next(iter(ds))
    assert tuple(a.shape) == tuple(b.shape) == (4, 32, 32, 3)
    with pytest.raises(ValueError, match="Class 'lorry' is not in"):
        paired.load_unpaired(zip_path, zip_path, split="test", classes_a="lorry")


def test_tasks_build_inputs_from_any_images():
    ds = paired.load_task(
        cifar10_path("test"),
        "grey_to_colour",
        split="test",
        batch_size=4,
        limit=8,
        seed=0,
    )
    a, b = (np.asarray(x) for x in next(iter(ds)))
    assert a.shape == (4, 32, 32, 1) and b.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(
        a[..., 0], b @ np.array([0.299, 0.587, 0.114], "float32"), atol=2e-3
    )
    edges = np.asarray(paired.task_inputs(b, "edges_to_photo"))
    assert edges.shape == (4, 32, 32, 1) and edges.min() >= -1 and edges.max() <= 1
    # Flat regions are white, strong gradients dark.
    flat = np.zeros((1, 16, 16, 3), "float32")
    np.testing.assert_allclose(
        np.asarray(paired.task_inputs(flat, "edges_to_photo")), 1.0
    )
    step = np.concatenate([-np.ones((1, 16, 8, 3)), np.ones((1, 16, 8, 3))], 2)
    edges = np.asarray(paired.task_inputs(step.astype("float32"), "edges_to_photo"))
    assert edges[0, 8, 8, 0] < 0


def test_masks_cover_one_rectangle_of_a_quarter_to_a_half_of_each_side():
    images = np.ones((64, 32, 32, 3), "float32")
    masked = np.asarray(
        paired.task_inputs(images, "masked_to_whole", tf.constant([1, 2]))
    )
    holes = masked[..., 0] == 0
    for hole in holes:
        rows, cols = np.nonzero(hole.any(1))[0], np.nonzero(hole.any(0))[0]
        height, width = len(rows), len(cols)
        assert 8 <= height <= 16 and 8 <= width <= 16
        assert hole.sum() == height * width  # one rectangle
    assert len({h.tobytes() for h in holes}) > 32


def test_bad_sources_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="task must be one of"):
        paired.load_task("digits", "sketch_to_photo")
    with pytest.raises(ValueError, match="unpaired: takes two sources"):
        paired.load_source("unpaired:a")
    with pytest.raises(ValueError, match="augment=None or 'jitter'"):
        paired.load_source("grey_to_colour:digits", augment="flip")
    assert not paired.is_source_spec("digits")
    _write(tmp_path / "odd" / "0.png", np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(ValueError, match="even width"):
        paired.load_paired(str(tmp_path / "odd"))


def test_lightness_to_ab_is_the_authors_colorization_mode():
    source = f"lightness_to_ab:{cifar10_path('test')}"
    ds = paired.load_source(source, split="test", batch_size=4, limit=4, seed=0)
    a, b = next(iter(ds))
    assert tuple(a.shape) == (4, 32, 32, 1) and tuple(b.shape) == (4, 32, 32, 2)
    rgb = cifar10_images(4)
    a, b = paired.make_pairs(rgb, "lightness_to_ab")
    assert -1 <= a.min() and a.max() <= 1 and np.abs(b).max() < 1
    # L in A and ab in B give the image back; ab = 0 is its grey version.
    np.testing.assert_allclose(paired.lab_pair_to_images(a, b), rgb, atol=1e-4)
    grey = np.asarray(paired.lab_pair_to_images(a, np.zeros_like(b)))
    np.testing.assert_allclose(grey[..., 0], grey[..., 2], atol=1e-4)
