import io
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_ssl import data
from tests.helpers import cifar10_path

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def _write_image(path, size=(8, 8), mode="RGB", seed=None):
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1}[mode]
    pixels = rng.integers(0, 256, size=(*size, channels), dtype=np.uint8)
    Image.fromarray(pixels.squeeze() if channels == 1 else pixels, mode).save(path)


@pytest.fixture
def image_folder(tmp_path):
    for split, count in (("train", 3), ("test", 2)):
        for name in ("cats", "dogs"):
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                _write_image(folder / f"{i}.png")
    return tmp_path


def test_cifar10_archive_counts_shapes_and_classes():
    path = cifar10_path("test")
    meta = data.info(path, split="test")
    assert meta.num_examples == 10_000
    assert meta.class_names == CIFAR10_CLASSES
    assert meta.image_shape == (32, 32, 3)
    images, labels = data.load_arrays(path, split="test", limit=300, seed=1)
    assert images.shape == (300, 32, 32, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32
    batch = next(iter(data.load(path, split="test", batch_size=4)))[0]
    assert batch.shape[1:] == (32, 32, 3)  # static, for graph-mode models
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.max() - images.min() > 1.5  # real images span the range
    # A seeded subset spreads over all classes, not the first folder.
    assert len(np.unique(labels)) == 10


def test_cifar10_batches_resize_and_determinism():
    path = cifar10_path("test")
    kwargs = dict(
        split="test",
        batch_size=16,
        limit=64,
        seed=3,
        shuffle=True,
        augment="crop,flip",
        image_size=24,
    )
    first = [x for x, _ in data.load(path, **kwargs)]
    second = [x for x, _ in data.load(path, **kwargs)]
    assert [tuple(x.shape) for x in first] == [(16, 24, 24, 3)] * 4
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    other = next(iter(data.load(path, **{**kwargs, "seed": 4})))[0]
    assert not np.array_equal(other.numpy(), first[0].numpy())


def test_digits_is_embedded_and_resized():
    meta = data.info("digits")
    assert meta.num_examples + data.info("digits", "test").num_examples == 1797
    images, labels = data.load_arrays("digits", split="test")
    assert images.shape == (359, 32, 32, 1)
    assert set(np.unique(labels)) == set(range(10))
    rgb = next(iter(data.load("digits", batch_size=4, channels=3, image_size=16)))[0]
    assert rgb.shape == (4, 16, 16, 3)


def test_unlabeled_batches_are_images_only():
    batch = next(iter(data.load("digits", batch_size=5, labeled=False)))
    assert isinstance(batch, tf.Tensor) and batch.shape == (5, 32, 32, 1)


def test_indexed_examples_keep_their_index_across_epochs(image_folder):
    def epoch(dataset):
        images, labels, indices = (np.concatenate(p) for p in zip(*dataset))
        order = np.argsort(indices)
        return images[order], labels[order], indices[order], indices

    dataset = data.load(
        "digits", batch_size=4, limit=12, seed=3, indexed=True, image_size=8
    )
    first, second = epoch(dataset), epoch(dataset)
    np.testing.assert_array_equal(first[2], np.arange(12))
    assert not np.array_equal(first[3], second[3])  # reshuffled...
    np.testing.assert_array_equal(first[0], second[0])  # ...same image per index
    np.testing.assert_array_equal(first[1], second[1])
    images, indices = next(
        iter(data.load(str(image_folder), batch_size=6, labeled=False, indexed=True))
    )
    assert images.shape == (6, 8, 8, 3) and indices.dtype == tf.int32
    np.testing.assert_array_equal(np.sort(indices), np.arange(6))


def test_folder_with_classes_and_splits(image_folder):
    meta = data.info(str(image_folder), split="test")
    assert meta.num_examples == 4 and meta.class_names == ("cats", "dogs")
    images, labels = data.load_arrays(str(image_folder), split="train")
    assert images.shape == (6, 8, 8, 3)
    np.testing.assert_array_equal(np.sort(labels), [0, 0, 0, 1, 1, 1])


def test_zip_archive_of_unlabeled_images(tmp_path):
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(5):
            buffer = io.BytesIO()
            Image.fromarray(np.full((6, 6, 3), i * 40, np.uint8)).save(buffer, "JPEG")
            zf.writestr(f"{i}.jpg", buffer.getvalue())
    meta = data.info(str(archive))
    assert meta.num_examples == 5 and meta.num_classes == 0
    images, labels = data.load_arrays(str(archive))
    assert images.shape == (5, 6, 6, 3)
    np.testing.assert_array_equal(labels, -1)


def test_tfds_source_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        meta = data.info("cifar10", split="test")
        assert meta.num_classes == 10 and meta.image_shape == (32, 32, 3)
        batches = list(data.load("cifar10", split="test", batch_size=5, limit=7))
    assert [tuple(x.shape) for x, _ in batches] == [(5, 32, 32, 3), (2, 32, 32, 3)]
    labels = np.concatenate([y.numpy() for _, y in batches])
    assert labels.dtype == np.int32 and labels.min() >= 0 and labels.max() < 10


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        data.load(str(tmp_path / "nowhere"))


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="No images"):
        data.load(str(tmp_path))


def test_unknown_split_names_the_available_ones(image_folder):
    with pytest.raises(ValueError, match="Available splits: test, train"):
        data.load(str(image_folder), split="validation")
    with pytest.raises(ValueError, match="split 'valid'"):
        data.load("digits", split="valid")


def test_unreadable_image_is_named(image_folder):
    (image_folder / "train" / "cats" / "broken.png").write_text("not an image")
    dataset = data.load(str(image_folder), batch_size=16, shuffle=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="broken.png"):
        list(dataset)


def _truncated_jpeg(path):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue()[:-40])


def test_truncated_jpeg_names_its_file_and_split(image_folder):
    _truncated_jpeg(image_folder / "train" / "cats" / "cut.jpg")
    dataset = data.load(str(image_folder), batch_size=16, shuffle=False)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="(?s)split train.*skip_corrupt.*cut.jpg"
    ):
        list(dataset)


def test_skip_corrupt_warns_with_a_count_and_keeps_the_rest(image_folder):
    _truncated_jpeg(image_folder / "train" / "cats" / "cut.jpg")
    (image_folder / "train" / "dogs" / "broken.png").write_text("not an image")
    with pytest.warns(UserWarning, match="Skipped 2 corrupt.*split 'train'"):
        images, labels = data.load_arrays(str(image_folder), skip_corrupt=True)
    assert images.shape == (6, 8, 8, 3) and len(labels) == 6


def test_tfds_goes_to_the_network_and_says_how_to_do_without(tmp_path, monkeypatch):
    # The TFDS path must reach the download (no import error before it); a
    # failed download is an error naming data_dir and the alternatives.
    from tensorflow_datasets.core.download import download_manager

    class Sentinel(ConnectionError):
        pass

    def refuse(*args, **kwargs):
        raise Sentinel("network reached")

    for name in ("download", "download_and_extract"):
        monkeypatch.setattr(download_manager.DownloadManager, name, refuse)
    with pytest.raises(RuntimeError, match="could not be downloaded") as raised:
        data.load("cifar10", data_dir=str(tmp_path))
    assert isinstance(raised.value.__cause__, Sentinel)
    message = str(raised.value)
    assert str(tmp_path) in message and "download=False" in message
    assert "image folder" in message and ".zip" in message
    with pytest.raises(FileNotFoundError, match="not prepared there"):
        data.load("cifar10", data_dir=str(tmp_path / "empty"), download=False)


def test_mixed_sizes_need_image_size(image_folder):
    _write_image(image_folder / "train" / "dogs" / "big.png", size=(12, 12))
    with pytest.raises(tf.errors.InvalidArgumentError, match="big.png"):
        list(data.load(str(image_folder), batch_size=16))
    images, _ = data.load_arrays(str(image_folder), image_size=8)
    assert images.shape == (7, 8, 8, 3)


def test_mixed_channel_counts_are_a_clear_error(image_folder):
    _write_image(image_folder / "train" / "dogs" / "grey.png", mode="L")
    with pytest.raises(tf.errors.InvalidArgumentError, match="grey.png"):
        list(data.load(str(image_folder), batch_size=16))
    images, _ = data.load_arrays(str(image_folder), channels=3)
    assert images.shape == (7, 8, 8, 3)


@pytest.mark.parametrize("image_size", [0, -3, (4,), "32", (4, 0)])
def test_non_positive_image_size_is_rejected(image_size):
    with pytest.raises(ValueError, match="image_size"):
        data.load("digits", image_size=image_size)


def test_bad_batch_size_and_channels_are_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        data.load("digits", batch_size=0)
    with pytest.raises(ValueError, match="channels"):
        data.load("digits", channels=2)


def test_unknown_augmentation_is_rejected():
    with pytest.raises(ValueError, match="Unknown augmentation 'blur'"):
        data.load("digits", augment="flip,blur")
