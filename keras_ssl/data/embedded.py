"""Datasets that ship with dependencies and need no network."""

import numpy as np

from keras_ssl.data.dataset_info import DatasetInfo

EMBEDDED = ("digits",)
DIGITS_SPLITS = ("train", "test", "all")


def digits(split="train"):
    """scikit-learn's 1,797 real 8x8 handwritten digits (UCI, 1998).

    There is no official split: a fixed permutation (seed 0) puts 1,438
    images in `"train"` and 359 in `"test"`; `"all"` has every image.

    Returns:
        `(images, labels, info)`: images uint8 (N, 8, 8, 1) in [0, 255],
        labels int32 (N,).
    """
    from sklearn.datasets import load_digits

    if split not in DIGITS_SPLITS:
        raise ValueError(
            f"split {split!r} does not exist in 'digits'. "
            f"Available splits: {', '.join(DIGITS_SPLITS)}"
        )
    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype("uint8")[..., None]
    labels = bunch.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(labels))
    cut = int(round(0.8 * len(labels)))
    index = {"train": order[:cut], "test": order[cut:], "all": np.arange(len(labels))}
    chosen = np.sort(index[split])
    info = DatasetInfo(
        name="digits",
        split=split,
        num_examples=len(chosen),
        class_names=tuple(str(d) for d in range(10)),
        image_shape=(8, 8, 1),
    )
    return images[chosen], labels[chosen], info
