"""`keras_ssl.data.load`: every source as one batched `tf.data.Dataset`."""

import os

import numpy as np
import tensorflow as tf

from keras_ssl.data import augment as augment_lib
from keras_ssl.data import embedded
from keras_ssl.data.dataset_info import DatasetInfo
from keras_ssl.data.image_files import ImageFileSource
from keras_ssl.utils.validation import check_int

# Magic numbers of the formats `tf.io.decode_image` reads, checked up front so
# that an unreadable file is named in the error instead of failing anonymously.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")
# A complete JPEG ends with its end-of-image marker (some writers append a
# few bytes after it), a complete PNG with its IEND chunk.
_JPEG_END = b"\xff\xd9"
_PNG_END = b"IEND\xaeB`\x82"
_TAIL = 18
DIGITS_DEFAULT_SIZE = 32


def _is_file_source(source):
    source = str(source)
    return os.path.exists(source) or os.sep in source or source.endswith(".zip")


def _check_image_size(image_size):
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    if (
        not isinstance(size, list | tuple)
        or len(size) != 2
        or not all(isinstance(d, int | np.integer) and d > 0 for d in size)
    ):
        raise ValueError(
            "image_size must be a positive int or a (height, width) pair of "
            f"positive ints. Received: image_size={image_size!r}"
        )
    return (int(size[0]), int(size[1]))


def _check_channels(channels):
    if channels not in (None, 1, 3):
        raise ValueError(
            f"channels must be None, 1 or 3. Received: channels={channels!r}"
        )


def _check_positive(name, value, allow_none=False):
    if value is None and allow_none:
        return
    check_int(value, name, allow_none=allow_none)


def info(source, split="train", data_dir=None):
    """Metadata of one split of `source` (see `DatasetInfo`); reads no images."""
    if source in embedded.EMBEDDED:
        return embedded.digits(split)[2]
    if _is_file_source(source):
        files = ImageFileSource(source, split)
        return DatasetInfo(
            name=str(source),
            split=split,
            num_examples=len(files.members),
            class_names=files.class_names,
            image_shape=files.image_shape(files.members[0]),
        )
    return _tfds_info(source, split, data_dir)


def _tfds_builder(name, data_dir, download):
    import difflib

    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        close = difflib.get_close_matches(name, tfds.list_builders(), n=3)
        hint = f" Closest TFDS names: {', '.join(close)}." if close else ""
        raise ValueError(
            f"Unknown data source {name!r}: not an existing path, not 'digits', "
            f"and not a TFDS dataset.{hint}"
        ) from error
    if download:
        try:
            builder.download_and_prepare()
        except OSError as error:  # no network, refused, disk full, ...
            raise RuntimeError(_unavailable(name, builder, error)) from error
    return builder


def _unavailable(name, builder, error=None):
    reason = (
        f"could not be downloaded ({type(error).__name__}: {error})"
        if error is not None
        else "is not prepared there and download=False"
    )
    return (
        f"TFDS dataset {name!r} {reason}; data_dir={builder.data_dir!r}. "
        "Prepare it where the network is reachable and pass data_dir= (with "
        "download=False) pointing at that copy, or use an image folder or a "
        ".zip archive in <split>/<class>/<image> layout as the source."
    )


def _tfds_info(name, split, data_dir, builder=None):
    builder = builder or _tfds_builder(name, data_dir, download=False)
    splits = builder.info.splits
    base_split = split.split("[")[0]
    if splits and base_split not in splits:
        raise ValueError(
            f"split {split!r} does not exist in {name!r}. "
            f"Available splits: {', '.join(sorted(splits))}"
        )
    features = builder.info.features
    label = features["label"] if "label" in features else None
    class_names = (
        tuple(label.names) if label is not None and hasattr(label, "names") else ()
    )
    num_examples = splits[split].num_examples if splits else 0
    return DatasetInfo(
        name=name,
        split=split,
        num_examples=int(num_examples),
        class_names=class_names,
        image_shape=tuple(features["image"].shape),
    )


def _subset(count, limit, seed):
    """Indices of `limit` examples out of `count`, in a seeded random order."""
    if limit is None or limit >= count:
        return np.arange(count)
    rng = np.random.default_rng(0 if seed is None else seed)
    # Kept in random order: `images[:k]` of a subset is itself a random sample.
    return rng.permutation(count)[:limit]


def is_complete_image(encoded):
    r"""Whether encoded bytes look like a whole image file (Python bytes).

    A known header (JPEG, PNG, GIF, BMP) and, for JPEG and PNG, the end
    marker within the last bytes: a truncated download or copy fails.

    >>> is_complete_image(b"\xff\xd8\xff" + bytes(40) + b"\xff\xd9")
    True
    >>> is_complete_image(b"\xff\xd8\xff" + bytes(40))
    False
    """
    if not encoded.startswith(_MAGIC):
        return False
    tail = encoded[-_TAIL:]
    if encoded.startswith(_MAGIC[0]):
        return _JPEG_END in tail
    if encoded.startswith(_MAGIC[1]):
        return tail.endswith(_PNG_END)
    return True


def _complete(encoded):
    """`is_complete_image` in TensorFlow ops, for one scalar string."""
    is_image = tf.reduce_any(
        [tf.strings.substr(encoded, 0, len(m)) == m for m in _MAGIC]
    )
    padded = tf.strings.join([b"\0" * _TAIL, encoded])
    tail = tf.strings.substr(padded, tf.strings.length(padded) - _TAIL, _TAIL)
    jpeg_end = tf.reduce_any(
        [tf.strings.substr(tail, k, 2) == _JPEG_END for k in range(_TAIL - 1)]
    )
    png_end = tf.strings.substr(tail, _TAIL - len(_PNG_END), len(_PNG_END)) == (
        _PNG_END
    )
    is_jpeg = tf.strings.substr(encoded, 0, 3) == _MAGIC[0]
    is_png = tf.strings.substr(encoded, 0, 4) == _MAGIC[1]
    return is_image & (~is_jpeg | jpeg_end) & (~is_png | png_end)


def _decode(encoded, name, channels, expected_shape, split="train"):
    check = tf.debugging.Assert(
        _complete(encoded),
        [
            f"Unreadable image in split {split} (not a JPEG, PNG, GIF or BMP "
            "file, or truncated); load(..., skip_corrupt=True) skips such "
            "files with a warning. File:",
            name,
        ],
    )
    with tf.control_dependencies([check]):
        image = tf.io.decode_image(
            encoded, channels=channels or 0, expand_animations=False
        )
    if expected_shape is not None:
        # Without image_size / channels, every image must match the first one;
        # -1 marks a dimension that is normalised anyway.
        same = tf.reduce_all((expected_shape < 0) | (tf.shape(image) == expected_shape))
        check = tf.debugging.Assert(
            same,
            [
                "Image shape differs from the first image's; pass image_size "
                "and/or channels to load images of mixed sizes or channel "
                "counts. File, shape, expected (-1: any):",
                name,
                tf.shape(image),
                expected_shape,
            ],
        )
        with tf.control_dependencies([check]):
            image = tf.identity(image)
    return image


def _tail_bytes(files, member):
    if files.is_zip:
        return files.read_bytes([member])[0]
    path = os.path.join(files.path, member)
    with open(path, "rb") as handle:
        head = handle.read(4)
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(size - _TAIL, 4))
        return head + handle.read()


def _drop_corrupt(files, members, labels, source, split):
    """`members` and `labels` without incomplete images, with a warning."""
    if files.is_zip:
        encoded = files.read_bytes(members)
    else:
        encoded = [_tail_bytes(files, m) for m in members]
    keep = [is_complete_image(e) for e in encoded]
    bad = [m for m, k in zip(members, keep) if not k]
    if bad:
        import warnings

        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        warnings.warn(
            f"Skipped {len(bad)} corrupt or truncated image(s) of split "
            f"{split!r} in {source}: {shown}",
            stacklevel=4,
        )
    if not any(keep):
        raise ValueError(
            f"Every image of split {split!r} in {source} is corrupt or "
            f"truncated ({len(bad)} files, e.g. {bad[0]})."
        )
    return [m for m, k in zip(members, keep) if k], labels[np.asarray(keep)]


def _file_examples(
    source, split, limit, seed, channels, image_size, skip_corrupt=False
):
    files = ImageFileSource(source, split)
    chosen = _subset(len(files.members), limit, seed)
    members = [files.members[i] for i in chosen]
    labels = np.asarray([files.labels[i] for i in chosen], "int32")
    if skip_corrupt:
        members, labels = _drop_corrupt(files, members, labels, source, split)
    height, width, native = files.image_shape(members[0])
    expected = [
        -1 if image_size else height,
        -1 if image_size else width,
        -1 if channels else native,
    ]
    expected = None if expected == [-1, -1, -1] else tf.constant(expected, tf.int32)
    out_channels = channels or native
    static = [height, width, out_channels]
    is_zip = files.is_zip
    encoded = files.read_bytes(members) if is_zip else files.full_paths(members)
    names = [f"{source}:{m}" for m in members] if is_zip else encoded
    dataset = tf.data.Dataset.from_tensor_slices((encoded, labels, names))

    def to_image(data, label, name):
        data = data if is_zip else tf.io.read_file(data)
        image = _decode(data, name, channels, expected, split)
        # Without image_size every image was checked against the first one,
        # so the stored size is the static shape.
        image.set_shape([None, None, out_channels] if image_size else static)
        return tf.cast(image, tf.float32) / 127.5 - 1.0, label

    return dataset, to_image, len(members)


def _digits_examples(split, limit, seed, channels):
    images, labels, _ = embedded.digits(split)
    chosen = _subset(len(labels), limit, seed)
    images, labels = images[chosen], labels[chosen]
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))

    def to_image(image, label):
        image = tf.cast(image, tf.float32) / 127.5 - 1.0
        if channels == 3:
            image = tf.image.grayscale_to_rgb(image)
        return image, label

    return dataset, to_image, len(labels)


def _tfds_examples(source, split, limit, data_dir, download, channels):
    builder = _tfds_builder(source, data_dir, download)
    if not download and not builder.is_prepared():
        raise FileNotFoundError(_unavailable(source, builder))
    meta = _tfds_info(source, split, data_dir, builder=builder)
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    if limit is not None:
        dataset = dataset.take(limit)
    has_label = bool(meta.class_names)

    def to_image(example):
        image = example["image"]
        if channels is not None and image.shape[-1] != channels:
            image = (
                tf.image.grayscale_to_rgb(image)
                if channels == 3
                else tf.image.rgb_to_grayscale(image)
            )
        label = tf.cast(example["label"], tf.int32) if has_label else tf.constant(-1)
        return tf.cast(image, tf.float32) / 127.5 - 1.0, label

    count = min(limit, meta.num_examples) if limit is not None else meta.num_examples
    return dataset, to_image, count


def load(
    source,
    split="train",
    image_size=None,
    batch_size=64,
    shuffle=None,
    augment=None,
    seed=None,
    data_dir=None,
    download=True,
    labeled=True,
    limit=None,
    channels=None,
    drop_remainder=False,
    repeat=False,
    skip_corrupt=False,
    indexed=False,
):
    """Load images as a batched, prefetched `tf.data.Dataset`.

    Args:
        source: a TFDS name (`"cifar10"`, `"stl10"`, `"celeb_a"`,
            `"imagenet2012"`, ...), a folder or a `.zip` archive in
            `<split>/<class>/<image>` layout (a split folder holding images
            directly is unlabeled), or `"digits"` (scikit-learn's handwritten
            digits, no network needed).
        split: the split to read, e.g. `"train"` or `"test"`.
        image_size: int or `(height, width)` to resize to (bilinear,
            antialiased); None keeps the stored size (32 for digits).
        batch_size: images per batch.
        shuffle: shuffle every epoch; defaults to True for `"train"`.
        augment: None, a callable `(image, seed) -> image`, or names from
            `keras_ssl.data.augment.AUGMENTATIONS` (e.g. `"crop,flip"`).
        seed: makes shuffling, `limit` and augmentation reproducible.
        data_dir, download: passed to TFDS.
        labeled: yield `(images, labels)`; False yields images alone.
        limit: keep a random (seeded) subset of this many examples, in
            random order.
        channels: None for the stored channels, 1 or 3 to convert.
        drop_remainder: drop the last incomplete batch.
        repeat: repeat forever (for `fit(steps_per_epoch=...)`).
        skip_corrupt: for folders and `.zip` archives, leave out truncated or
            unreadable image files with a warning that counts and names them.
            By default the first read of such a file is an error naming the
            file and the split.
        indexed: also yield each example's index, int32 in `[0, N)` for the
            N examples loaded: its position in the split (for `limit`, in
            the seeded subset), numbered before shuffling, so an example
            keeps its index in every epoch and every run with the same
            `seed`. Methods with a memory bank over the dataset
            (`requires_indices`, e.g. instance discrimination) train on it.

    Returns:
        A `tf.data.Dataset` of float32 images (B, H, W, C) in [-1, 1] and,
        if `labeled`, int32 labels (B,) (-1 where the data has no classes):
        `(images, labels)`, or `images` alone; with `indexed`, the indices
        (B,) come last: `(images, labels, indices)` or `(images, indices)`.

    Example:

    >>> ds = load("digits", batch_size=8)
    >>> images, labels = next(iter(ds))
    >>> tuple(images.shape), images.dtype.name
    ((8, 32, 32, 1), 'float32')
    """
    size = _check_image_size(image_size)
    _check_channels(channels)
    _check_positive("batch_size", batch_size)
    _check_positive("limit", limit, allow_none=True)
    if source in embedded.EMBEDDED:
        dataset, to_image, count = _digits_examples(split, limit, seed, channels)
        size = size or (DIGITS_DEFAULT_SIZE, DIGITS_DEFAULT_SIZE)
    elif _is_file_source(source):
        dataset, to_image, count = _file_examples(
            source, split, limit, seed, channels, size, skip_corrupt
        )
    else:
        dataset, to_image, count = _tfds_examples(
            source, split, limit, data_dir, download, channels
        )
    if shuffle is None:
        shuffle = split.split("[")[0] == "train"
    if indexed:
        dataset = dataset.enumerate()
    if shuffle:
        dataset = dataset.shuffle(
            max(count, 1), seed=seed, reshuffle_each_iteration=True
        )
    if repeat:
        dataset = dataset.repeat()
    augment_fn = augment_lib.get(augment)
    seeds = tf.data.Dataset.random(seed=seed).batch(2)

    def prepare(example, element_seed):
        if indexed:
            index, example = example
        example = example if isinstance(example, tuple) else (example,)
        image, label = to_image(*example)
        if size is not None:
            image = tf.clip_by_value(augment_lib.resize(image, size), -1.0, 1.0)
        if augment_fn is not None:
            image = augment_fn(image, element_seed)
        outputs = (image, label) if labeled else (image,)
        if indexed:
            outputs += (tf.cast(index, tf.int32),)
        return outputs if len(outputs) > 1 else image

    dataset = tf.data.Dataset.zip((dataset, seeds)).map(
        prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def load_arrays(
    source,
    split="train",
    image_size=None,
    limit=None,
    seed=None,
    channels=None,
    data_dir=None,
    download=True,
    skip_corrupt=False,
):
    """The whole split (or a seeded subset of `limit`) as NumPy arrays.

    Arguments as in `load`.

    Returns:
        `(images, labels)`: float32 (N, H, W, C) in [-1, 1] and int32 (N,).
    """
    dataset = load(
        source,
        split=split,
        image_size=image_size,
        batch_size=512,
        shuffle=False,
        seed=seed,
        limit=limit,
        channels=channels,
        data_dir=data_dir,
        download=download,
        skip_corrupt=skip_corrupt,
    )
    images, labels = [], []
    for batch_images, batch_labels in dataset.as_numpy_iterator():
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels).astype("int32")
