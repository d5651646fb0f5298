"""Stateless tensor functions in `keras.ops`."""

from keras_ssl.ops.rotation import rotate90, rotation_batch

__all__ = ["rotate90", "rotation_batch"]
