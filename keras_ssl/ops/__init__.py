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
    chroma_blur,
    context_layout_size,
    context_patch_pairs,
    crop_patches,
    drop_color_channels,
    project_color,
)
from keras_ssl.ops.resize import area_resize, crop_and_resize, resize_images
from keras_ssl.ops.rotation import rotate90, rotation_batch

__all__ = [
    "area_resize",
    "crop_and_resize",
    "resize_images",
    "rotate90",
    "rotation_batch",
]

__all__ += [
    "NEIGHBOUR_OFFSETS",
    "assemble_tiles",
    "check_context_layout",
    "chroma_blur",
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

from keras_ssl.ops.masks import (  # noqa: E402
    MASK_KINDS,
    central_square_mask,
    dilate_mask,
    make_masks,
    random_region_masks,
    random_square_masks,
)

__all__ += [
    "MASK_KINDS",
    "central_square_mask",
    "dilate_mask",
    "make_masks",
    "random_region_masks",
    "random_square_masks",
]

from keras_ssl.ops.color import (  # noqa: E402
    ab_bins,
    annealed_mean,
    estimate_ab_prior,
    hue_chroma_histograms,
    lab_to_rgb,
    rebalancing_weights,
    rgb_to_lab,
    soft_encode_ab,
)

__all__ += [
    "ab_bins",
    "annealed_mean",
    "estimate_ab_prior",
    "hue_chroma_histograms",
    "lab_to_rgb",
    "rebalancing_weights",
    "rgb_to_lab",
    "soft_encode_ab",
]

from keras_ssl.ops.common import (  # noqa: E402
    accuracy,
    correct_predictions,
    l2_normalize,
    with_static_shape,
)

__all__ += ["accuracy", "correct_predictions", "l2_normalize", "with_static_shape"]

from keras_ssl.ops.context_sets import (  # noqa: E402
    PAIR_CONFIGURATIONS,
    TRIPLE_CONFIGURATIONS,
    context_patch_sets,
    patch_configurations,
    random_aperture,
    rotate_patch_sets,
)

__all__ += [
    "PAIR_CONFIGURATIONS",
    "TRIPLE_CONFIGURATIONS",
    "context_patch_sets",
    "patch_configurations",
    "random_aperture",
    "rotate_patch_sets",
]
