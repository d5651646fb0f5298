"""Datasets of image pairs for image-to-image translation (pix2pix, CycleGAN).

Every loader returns a batched `tf.data.Dataset` of `(a, b)`: float32 images
(B, H, W, C) in [-1, 1], domain A (the input) first.

- `load_paired(source)`: aligned pairs, from a folder (or `.zip`) of
  side-by-side `A|B` images (the public pix2pix datasets: facades, maps,
  edges2shoes ...: `<root>/<split>/<name>.jpg`, A on the left), or from two
  parallel folders `(folder_a, folder_b)` whose images have the same
  relative names.
- `load_unpaired(source_a, source_b)`: two independent streams (CycleGAN),
  each any `keras_ssl.data.load` source, optionally only some classes.
- `load_task(source, task)`: pairs made on the fly from any image source
  (B is the image): `"grey_to_colour"` (A = its luminance, one channel),
  `"edges_to_photo"` (A = a Sobel edge map, dark edges on white, one
  channel), `"masked_to_whole"` (A = the image with a random rectangle of
  a quarter to a half of each side set to 0), and `"lightness_to_ab"`, the
  authors' colorization mode (upstream's `colorization` dataset and model):
  A = CIE L scaled to [-1, 1] (L / 50 - 1), B = the ab channels / 110 (two
  channels), so the generator predicts chroma only and
  `lab_pair_to_images(a, b)` puts the colour image together with the
  input's lightness.

`jitter=True` is the paper's augmentation (resize to 286/256 of the size,
random crop back, random left-right flip, the same for A and B).
`load_source("<kind>:<spec>", ...)` reads all three from one string, as
`keras-ssl train pix2pix|cyclegan --data ...` passes it (see its docstring).
"""

import os

import numpy as np
import tensorflow as tf

from keras_ssl.data import augment as augment_lib
from keras_ssl.data import loader
from keras_ssl.data.image_files import ImageFileSource
from keras_ssl.ops import color

TASKS = ("grey_to_colour", "edges_to_photo", "masked_to_whole", "lightness_to_ab")
# Upstream's colorization dataset: L / 50 - 1 in A, ab / 110 in B.
AB_SCALE = 110.0
DIRECTIONS = ("a_to_b", "b_to_a")
JITTER_SCALE = 286 / 256
KINDS = ("paired", "unpaired") + TASKS


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {tuple(choices)}. Received: {name}={value!r}"
        )
    return value


def _size_pair(image_size):
    if image_size is None:
        return None
    return (image_size, image_size) if isinstance(image_size, int) else image_size


def jitter_pair(a, b, seed):
    """The paper's jitter on one aligned pair: resize up, crop, flip together."""
    shape = tf.shape(a)
    big = tf.cast(tf.round(tf.cast(shape[:2], tf.float32) * JITTER_SCALE), tf.int32)
    channels_a = a.shape[-1]
    both = tf.concat([a, b], axis=-1)
    both = tf.image.resize(both, big, method="bilinear")
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    both = tf.image.stateless_random_crop(
        both, [shape[0], shape[1], both.shape[-1]], crop_seed
    )
    both = tf.image.stateless_random_flip_left_right(both, flip_seed)
    a_out, b_out = both[..., :channels_a], both[..., channels_a:]
    a_out.set_shape(a.shape)
    b_out.set_shape(b.shape)
    return a_out, b_out


def _image_jitter(image, seed):
    return jitter_pair(image, image[..., :0], seed)[0]


def _finish(dataset, batch_size, shuffle, count, seed, repeat, drop_remainder, jitter):
    if shuffle:
        dataset = dataset.shuffle(
            max(count, 1), seed=seed, reshuffle_each_iteration=True
        )
    if repeat:
        dataset = dataset.repeat()
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    dataset = tf.data.Dataset.zip((dataset, seeds))

    def prepare(pair, element_seed):
        a, b = pair
        if jitter:
            a, b = jitter_pair(a, b, element_seed)
        return tf.clip_by_value(a, -1.0, 1.0), tf.clip_by_value(b, -1.0, 1.0)

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _decode(data, channels):
    image = tf.io.decode_image(data, channels=channels, expand_animations=False)
    return tf.cast(image, tf.float32) / 127.5 - 1.0


def load_paired(
    source,
    split="train",
    image_size=None,
    batch_size=1,
    direction="a_to_b",
    jitter=False,
    shuffle=None,
    seed=None,
    limit=None,
    channels=3,
    repeat=False,
    drop_remainder=False,
):
    """Aligned (a, b) pairs from side-by-side images or two parallel folders.

    Args:
        source: a folder or `.zip` of side-by-side `A|B` images (split
            folders optional), or a pair `(folder_a, folder_b)` of folders
            holding the same relative file names.
        split: the split folder to read (`"train"`, `"val"`, `"test"`).
        image_size: int or (height, width) each half is resized to (the
            paper: 256); None keeps the stored size.
        batch_size: pairs per batch (the paper: 1).
        direction: `"a_to_b"` (A is the input) or `"b_to_a"` (swap them,
            e.g. facades photo -> labels).
        jitter: the paper's resize-crop-flip augmentation.
        shuffle: defaults to True for `"train"`.
        seed: makes shuffling, `limit` and jitter reproducible.
        limit: a seeded random subset of this many pairs.
        channels: channels to decode (1 or 3).
        repeat, drop_remainder: as `keras_ssl.data.load`.

    Example:

    >>> ds = load_paired("facades", image_size=256)  # doctest: +SKIP
    """
    _check_choice(direction, "direction", DIRECTIONS)
    size = _size_pair(image_size)
    if isinstance(source, tuple | list):
        if len(source) != 2:
            raise ValueError(
                "source must be one folder of side-by-side images or a pair "
                f"(folder_a, folder_b). Received: {len(source)} sources"
            )
        files_a = ImageFileSource(source[0], split)
        files_b = ImageFileSource(source[1], split)
        names_b = set(files_b.members)
        common = [m for m in files_a.members if m in names_b]
        if not common:
            raise ValueError(
                f"No file names in common between {source[0]!r} and "
                f"{source[1]!r} (split {split!r}): parallel folders must hold "
                "the same relative names, e.g. a/train/1.jpg and b/train/1.jpg."
            )
        chosen = [common[i] for i in loader._subset(len(common), limit, seed)]
        dataset = tf.data.Dataset.from_tensor_slices(
            (files_a.read_bytes(chosen), files_b.read_bytes(chosen))
        )

        def split_pair(data_a, data_b):
            return _decode(data_a, channels), _decode(data_b, channels)

    else:
        files = ImageFileSource(source, split)
        chosen = [
            files.members[i] for i in loader._subset(len(files.members), limit, seed)
        ]
        height, width, _ = files.image_shape(chosen[0])
        if width % 2:
            raise ValueError(
                f"Side-by-side A|B images need an even width. Received: "
                f"{chosen[0]!r} in {source!r} of width {width}"
            )
        dataset = tf.data.Dataset.from_tensor_slices(files.read_bytes(chosen))

        def split_pair(data):
            image = _decode(data, channels)
            half = tf.shape(image)[1] // 2
            return image[:, :half], image[:, half:]

    def load_pair(*data):
        a, b = split_pair(*data)
        if size is not None:
            a = augment_lib.resize(a, size)
            b = augment_lib.resize(b, size)
        a.set_shape([None, None, channels] if size is None else [*size, channels])
        b.set_shape([None, None, channels] if size is None else [*size, channels])
        return (b, a) if direction == "b_to_a" else (a, b)

    dataset = dataset.map(load_pair, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle is None:
        shuffle = split == "train"
    return _finish(
        dataset, batch_size, shuffle, len(chosen), seed, repeat, drop_remainder, jitter
    )


def _class_ids(source, split, classes, data_dir):
    if classes is None:
        return None
    classes = [classes] if isinstance(classes, str | int) else list(classes)
    names = loader.info(source, split=split, data_dir=data_dir).class_names
    ids = []
    for value in classes:
        if isinstance(value, str) and not value.isdigit():
            if value not in names:
                raise ValueError(
                    f"Class {value!r} is not in {source!r} (split {split!r}). "
                    f"Classes: {', '.join(names) or 'none (unlabeled)'}"
                )
            ids.append(names.index(value))
        else:
            ids.append(int(value))
    return ids


def _images(source, split, image_size, classes, seed, limit, channels, repeat, **kw):
    ids = _class_ids(source, split, classes, kw.get("data_dir"))
    dataset = loader.load(
        source,
        split=split,
        image_size=image_size,
        batch_size=256,
        seed=seed,
        limit=limit,
        channels=channels,
        repeat=repeat,
        **kw,
    ).unbatch()
    if ids is not None:
        wanted = tf.constant(ids, tf.int32)
        dataset = dataset.filter(lambda image, label: tf.reduce_any(label == wanted))
    return dataset.map(lambda image, label: image)


def load_unpaired(
    source_a,
    source_b,
    split="train",
    image_size=None,
    batch_size=1,
    classes_a=None,
    classes_b=None,
    shuffle=None,
    seed=None,
    limit=None,
    channels=3,
    repeat=False,
    drop_remainder=False,
    data_dir=None,
    download=True,
    jitter=False,
):
    """Independent (a, b) batches of two domains (CycleGAN).

    Args:
        source_a, source_b: any `keras_ssl.data.load` sources (folders,
            `.zip`, TFDS names); the same source twice with different
            `classes_*` makes two domains of one dataset.
        classes_a, classes_b: class names or ids to keep (None: all).
        jitter: the paper's resize-crop-flip, per image of each domain.
        limit: a seeded random subset of each source (before the class
            filter).
        Others: as `keras_ssl.data.load`. Each domain is shuffled with its
            own seed; without `repeat` the dataset ends with the shorter
            domain.

    Example:

    >>> ds = load_unpaired("cifar10.zip", "cifar10.zip", classes_a="automobile",
    ...                    classes_b="truck", image_size=32)  # doctest: +SKIP
    """
    options = {
        "data_dir": data_dir,
        "download": download,
        "shuffle": shuffle,
        "augment": _image_jitter if jitter else None,
    }
    seed_b = None if seed is None else seed + 1
    # Each domain is shuffled with its own seed.
    domains = tuple(
        _images(
            source, split, image_size, classes, s, limit, channels, repeat, **options
        )
        for source, classes, s in (
            (source_a, classes_a, seed),
            (source_b, classes_b, seed_b),
        )
    )
    dataset = tf.data.Dataset.zip(domains)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def luminance(images):
    """ITU-R 601 luma of RGB images in [-1, 1], one channel."""
    if images.shape[-1] == 1:
        return images
    return tf.image.rgb_to_grayscale(images)


def edge_map(images):
    """Sobel edges of (B, H, W, C) images: dark edges on white, one channel.

    The gradient magnitude of the luminance, divided by four times its
    per-image mean and clipped to [0, 1], drawn black on white in [-1, 1]
    (like the HED edge maps of pix2pix's edges2shoes, without a learned
    detector).
    """
    grey = luminance(images)
    sobel = tf.image.sobel_edges(grey)
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(sobel), axis=-1))
    # A flat image has no edges (not amplified noise): the floor of the scale.
    scale = tf.maximum(
        4.0 * tf.reduce_mean(magnitude, axis=[1, 2, 3], keepdims=True), 1e-2
    )
    strength = tf.clip_by_value(magnitude / scale, 0.0, 1.0)
    return 1.0 - 2.0 * strength


def lab_pair_to_images(a, b):
    """RGB images in [-1, 1] of `"lightness_to_ab"` pairs (L in A, ab in B).

    `b` may be a generator's ab prediction; `b = 0` gives the grey image
    of A's lightness (the copy baseline of that task).

    Example:

    >>> a = np.ones((1, 2, 2, 1), "float32")  # L = 100
    >>> white = lab_pair_to_images(a, np.zeros((1, 2, 2, 2), "float32"))
    >>> np.round(white.numpy()[0, 0, 0], 4)
    array([1., 1., 1.], dtype=float32)
    """
    a = tf.convert_to_tensor(a, tf.float32)
    b = tf.convert_to_tensor(b, tf.float32)
    return color.lab_to_images(tf.concat([(a + 1.0) * 50.0, b * AB_SCALE], -1))


def random_masks(shape, seed, fraction=(0.25, 0.5)):
    """(B, H, W, 1) masks, 1 inside one random rectangle per image.

    Each side of the rectangle is a uniform fraction in `fraction` of the
    image's side; its position is uniform inside the image.
    """
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
    low, high = fraction
    sizes = []
    for side, s in ((height, seeds[0]), (width, seeds[1])):
        frac = tf.random.stateless_uniform([batch], s, low, high)
        sizes.append(tf.maximum(1, tf.cast(frac * tf.cast(side, tf.float32), tf.int32)))
    starts = []
    for side, size, s in ((height, sizes[0], seeds[2]), (width, sizes[1], seeds[3])):
        room = tf.cast(side - size + 1, tf.float32)
        draw = tf.random.stateless_uniform([batch], s)
        starts.append(tf.cast(tf.floor(draw * room), tf.int32))
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = (
        (rows >= starts[0][:, None, None])
        & (rows < (starts[0] + sizes[0])[:, None, None])
        & (cols >= starts[1][:, None, None])
        & (cols < (starts[1] + sizes[1])[:, None, None])
    )
    return tf.cast(inside, tf.float32)[..., None]


def task_inputs(images, task, seed=None):
    """The input A of `task` for a batch of images B (float, [-1, 1]).

    Args:
        images: (B, H, W, C) float images in [-1, 1] (a tensor or array).
        task: one of `TASKS`.
        seed: stateless seed (shape (2,) ints) of the masks; `None` = 0.

    Example:

    >>> images = np.zeros((2, 8, 8, 3), "float32")
    >>> task_inputs(images, "grey_to_colour").shape
    TensorShape([2, 8, 8, 1])
    """
    _check_choice(task, "task", TASKS)
    images = tf.convert_to_tensor(images, tf.float32)
    if task == "grey_to_colour":
        return luminance(images)
    if task == "lightness_to_ab":
        return color.images_to_lab(images)[..., :1] / 50.0 - 1.0
    if task == "edges_to_photo":
        return edge_map(images)
    seed = tf.constant([0, 0], tf.int64) if seed is None else seed
    masks = random_masks(tf.shape(images), seed)
    return images * (1.0 - masks)


def task_targets(images, task):
    """The target B of `task` for images in [-1, 1]: the images themselves,
    or for `"lightness_to_ab"` their ab channels / 110 (B, H, W, 2)."""
    _check_choice(task, "task", TASKS)
    if task == "lightness_to_ab":
        images = tf.convert_to_tensor(images, tf.float32)
        return color.images_to_lab(images)[..., 1:] / AB_SCALE
    return images


def make_pairs(images, task, seed=0):
    """NumPy `(a, b)` of `task` for an array of images in [-1, 1]."""
    seed = tf.constant([seed, 0], tf.int64)
    targets = np.asarray(task_targets(images, task), "float32")
    return task_inputs(images, task, seed).numpy(), targets


def load_task(
    source,
    task,
    split="train",
    image_size=None,
    batch_size=1,
    jitter=False,
    shuffle=None,
    seed=None,
    limit=None,
    repeat=False,
    drop_remainder=False,
    data_dir=None,
    download=True,
):
    """(a, b) pairs of `task` built on the fly from any image source.

    Args:
        source: any `keras_ssl.data.load` source; its images (as RGB) are B.
        task: one of `TASKS` (see the module docstring).
        jitter: the paper's resize-crop-flip on B before A is made.
        Others: as `keras_ssl.data.load`.

    Example:

    >>> ds = load_task("digits", "edges_to_photo", batch_size=4)
    >>> a, b = next(iter(ds))
    >>> tuple(a.shape), tuple(b.shape)
    ((4, 32, 32, 1), (4, 32, 32, 3))
    """
    _check_choice(task, "task", TASKS)

    dataset = loader.load(
        source,
        split=split,
        image_size=image_size,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        limit=limit,
        channels=3,
        labeled=False,
        repeat=repeat,
        drop_remainder=drop_remainder,
        augment=_image_jitter if jitter else None,
        data_dir=data_dir,
        download=download,
    )
    seeds = tf.data.Dataset.random(seed=None if seed is None else seed + 7).batch(2)

    def pair(images, batch_seed):
        return task_inputs(images, task, batch_seed), task_targets(images, task)

    dataset = tf.data.Dataset.zip((dataset, seeds)).map(
        pair, num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _split_source(text):
    path, _, classes = text.rpartition("@")
    if not path or os.path.exists(text):
        return text, None
    return path, classes.split("+")


def is_source_spec(source):
    """Whether `source` is a `"<kind>:<spec>"` string of `load_source`."""
    if not isinstance(source, str) or ":" not in source:
        return False
    return source.split(":", 1)[0] in KINDS and not os.path.exists(source)


def load_source(
    source,
    split="train",
    image_size=None,
    batch_size=1,
    seed=None,
    limit=None,
    shuffle=None,
    repeat=False,
    drop_remainder=False,
    jitter=False,
    data_dir=None,
    download=True,
    augment=None,
    channels=None,
    labeled=None,
):
    """Any pair dataset from one string (for recipes and the command line).

    - `"paired:<folder or zip>"`: side-by-side A|B images;
      `"paired:<folder_a>,<folder_b>"`: parallel folders; a trailing
      `",b_to_a"` swaps A and B.
    - `"unpaired:<source_a>,<source_b>"`, each optionally `@class[+class]`:
      e.g. `"unpaired:cifar/train.zip@automobile,cifar/train.zip@truck"`.
    - `"<task>:<source>"` with a task of `TASKS`, e.g.
      `"grey_to_colour:cifar10"`.

    The other arguments are those of `keras_ssl.data.load` (a recipe's
    `data` section): `augment` may be None or `"jitter"` (the paper's
    resize-crop-flip, as `jitter=True`); `channels` (1 or 3, default 3)
    applies to paired and unpaired folders (tasks make 3-channel targets,
    but `"lightness_to_ab"` 2-channel ones);
    `labeled` is ignored (pairs have no labels).

    Example:

    >>> ds = load_source("grey_to_colour:digits", batch_size=2)
    >>> [tuple(x.shape) for x in next(iter(ds))]
    [(2, 32, 32, 1), (2, 32, 32, 3)]
    """
    if not is_source_spec(source):
        raise ValueError(
            "An image-to-image source must be 'paired:<folder>', "
            "'paired:<folder_a>,<folder_b>', 'unpaired:<source_a>,<source_b>' or "
            f"'<task>:<source>' with a task of {TASKS}. Received: {source!r}"
        )
    if augment not in (None, "jitter"):
        raise ValueError(
            "Image-to-image data takes augment=None or 'jitter' (resize to "
            f"286/256, random crop, flip). Received: augment={augment!r}"
        )
    jitter = jitter or augment == "jitter"
    channels = 3 if channels is None else channels
    kind, spec = source.split(":", 1)
    common = {
        "split": split,
        "image_size": image_size,
        "batch_size": batch_size,
        "seed": seed,
        "limit": limit,
        "shuffle": shuffle,
        "repeat": repeat,
        "drop_remainder": drop_remainder,
    }
    if kind in TASKS:
        return load_task(
            spec, kind, jitter=jitter, data_dir=data_dir, download=download, **common
        )
    parts = spec.split(",")
    if kind == "paired":
        direction = "a_to_b"
        if parts[-1] in DIRECTIONS:
            direction = parts.pop()
        if len(parts) not in (1, 2):
            raise ValueError(
                "paired: takes one folder or two folders separated by a comma. "
                f"Received: {spec!r}"
            )
        return load_paired(
            parts[0] if len(parts) == 1 else tuple(parts),
            direction=direction,
            jitter=jitter,
            channels=channels,
            **common,
        )
    if len(parts) != 2:
        raise ValueError(
            f"unpaired: takes two sources separated by a comma. Received: {spec!r}"
        )
    (source_a, classes_a), (source_b, classes_b) = map(_split_source, parts)
    return load_unpaired(
        source_a,
        source_b,
        classes_a=classes_a,
        classes_b=classes_b,
        channels=channels,
        jitter=jitter,
        data_dir=data_dir,
        download=download,
        **common,
    )
