"""Stateless tensor functions in `keras.ops`."""

from keras_ssl.ops.hungarian import hungarian_match
from keras_ssl.ops.jigsaw import (
    assemble_tiles,
    inverse_permutation,
    jigsaw_tile_size,
    jigsaw_tiles,
    min_hamming_distance,
    normalize_tiles,
    permutation_matrix,
    permutation_set,
    shuffle_tiles,
)
from keras_ssl.ops.patches import (
    NEIGHBOUR_OFFSETS,
    check_context_layout,
    context_layout_size,
    context_patch_pairs,
    crop_patches,
    drop_color_channels,
    project_color,
)
from keras_ssl.ops.rotation import rotate90, rotation_batch

__all__ = ["rotate90", "rotation_batch"]

__all__ += [
    "NEIGHBOUR_OFFSETS",
    "assemble_tiles",
    "check_context_layout",
    "context_layout_size",
    "context_patch_pairs",
    "crop_patches",
    "drop_color_channels",
    "inverse_permutation",
    "jigsaw_tile_size",
    "jigsaw_tiles",
    "min_hamming_distance",
    "normalize_tiles",
    "permutation_matrix",
    "permutation_set",
    "project_color",
    "shuffle_tiles",
]

__all__ += ["hungarian_match"]
