"""Converters of the originals' released weights into our networks.

One module per source format (compare_gan TF checkpoints, Mimicry, pix2pix /
CycleGAN, RotNet, colorization and the FID Inception PyTorch files). Each
maps variables by their exact original names and fails, listing every
problem, on any missing, unused or mis-shaped variable: there is never a
silent partial load. PyTorch files need the optional `convert` extra.

>>> from keras_ssl import convert
>>> "mimicry_pth" in convert.list_formats()  # doctest: +SKIP
True
"""

from keras_ssl.convert.core import (
    ConversionError,
    assign_by_name,
    convert,
    get_converter,
    list_formats,
)
from keras_ssl.convert.readers import read_tf_checkpoint, read_torch_state_dict

__all__ = [
    "ConversionError",
    "assign_by_name",
    "convert",
    "get_converter",
    "list_formats",
    "read_tf_checkpoint",
    "read_torch_state_dict",
]
