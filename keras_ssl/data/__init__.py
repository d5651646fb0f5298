"""Datasets by name, image folders and zip archives, embedded data, augmentation."""

from keras_ssl.data import augment
from keras_ssl.data.dataset_info import DatasetInfo
from keras_ssl.data.loader import info, load, load_arrays

__all__ = ["DatasetInfo", "augment", "info", "load", "load_arrays"]

from keras_ssl.data import paired  # noqa: E402

__all__ += ["paired"]
