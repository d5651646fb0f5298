import numpy as np
import pytest

from keras_ssl.ops import (
    NEIGHBOUR_OFFSETS,
    context_layout_size,
    context_patch_pairs,
    crop_patches,
    drop_color_channels,
    project_color,
)


def _coordinate_images(batch, size):
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    image = np.stack([rows, cols, rows * 0], -1).astype("float32")
    return np.repeat(image[None], batch, axis=0)


def test_crop_patches_matches_slicing():
    images = np.random.default_rng(0).normal(size=(3, 10, 12, 2)).astype("float32")
    top = np.array([[0, 3], [5, 1], [2, 2]])
    left = np.array([[0, 7], [4, 1], [8, 0]])
    patches = np.asarray(crop_patches(images, top, left, 4))
    for b in range(3):
        for k in range(2):
            np.testing.assert_array_equal(
                patches[b, k],
                images[b, top[b, k] : top[b, k] + 4, left[b, k] : left[b, k] + 4],
            )


@pytest.mark.parametrize("jitter", [0, 2])
def test_neighbours_land_at_their_relative_positions(jitter):
    patch, gap, size = 6, 2, 32
    images = _coordinate_images(64, size)
    centre, neighbour, labels = context_patch_pairs(
        images, patch, gap=gap, jitter=jitter, seed=1
    )
    centre, neighbour, labels = map(np.asarray, (centre, neighbour, labels))
    assert sorted(set(labels.tolist())) == list(range(8))
    pitch = patch + gap + jitter
    offsets = np.array(NEIGHBOUR_OFFSETS)[labels]
    dy = neighbour[:, 0, 0, 0] - centre[:, 0, 0, 0]
    dx = neighbour[:, 0, 0, 1] - centre[:, 0, 0, 1]
    assert (np.abs(dy - offsets[:, 0] * pitch) <= jitter).all()
    assert (np.abs(dx - offsets[:, 1] * pitch) <= jitter).all()
    # Patches never touch: at least `gap` pixels between them along the
    # axis on which they are neighbours.
    gap_y = np.abs(dy) - patch
    gap_x = np.abs(dx) - patch
    assert (np.maximum(gap_y, gap_x) >= gap).all()
    # The patches are plain crops of the image.
    expected_rows = centre[:, :1, :1, 0] + np.arange(patch)[:, None]
    np.testing.assert_array_equal(
        centre[..., 0], np.broadcast_to(expected_rows, centre.shape[:-1])
    )
    top_left = np.stack([centre[:, 0, 0, 0], neighbour[:, 0, 0, 0]])
    assert top_left.min() >= 0 and top_left.max() + patch <= size


def test_deterministic_pairs_are_centred():
    images = _coordinate_images(8, 32)
    centre, neighbour, labels = context_patch_pairs(images, 8, 2, 1, random=False)
    np.testing.assert_array_equal(np.asarray(labels), np.arange(8))
    extent = context_layout_size(8, 2, 1)
    expected_top = (32 - extent) // 2 + (8 + 2 + 1) + 0
    np.testing.assert_array_equal(np.asarray(centre)[:, 0, 0, 0], expected_top)


def test_layout_too_large_is_a_clear_error():
    with pytest.raises(ValueError, match="too small for the context-prediction"):
        context_patch_pairs(np.zeros((1, 20, 20, 3), "float32"), 8, gap=2)


def test_project_color_removes_the_green_magenta_axis():
    x = np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype("float32")
    projected = np.asarray(project_color(x))
    axis = np.array([-1.0, 2.0, -1.0])
    np.testing.assert_allclose(projected @ axis, 0, atol=1e-5)
    # Grey pixels are untouched.
    grey = np.repeat(x[..., :1], 3, axis=-1)
    np.testing.assert_allclose(np.asarray(project_color(grey)), grey, atol=1e-6)


def test_drop_color_channels_keeps_one_channel_and_adds_weak_noise():
    x = np.random.default_rng(0).normal(size=(64, 6, 6, 3)).astype("float32")
    out = np.asarray(drop_color_channels(x, seed=3))
    kept = np.isclose(out, x, atol=0).all(axis=(1, 2))
    assert (kept.sum(axis=-1) == 1).all()
    assert len(set(kept.argmax(-1).tolist())) == 3
    assert np.abs(out[~np.broadcast_to(kept[:, None, None], x.shape)]).max() < 0.1


def test_chroma_blur_keeps_lightness_and_smooths_colour():
    from keras_ssl.ops import chroma_blur
    from keras_ssl.ops.color import images_to_lab

    rng = np.random.default_rng(0)
    # Muted colours stay inside the sRGB gamut after blurring.
    images = (rng.uniform(-0.3, 0.3, (2, 16, 16, 3))).astype("float32")
    blurred = np.asarray(chroma_blur(images, 13))
    before, after = (
        np.asarray(images_to_lab(images)),
        np.asarray(images_to_lab(blurred)),
    )
    np.testing.assert_allclose(after[..., 0], before[..., 0], atol=2e-2)
    assert after[..., 1:].std() < 0.5 * before[..., 1:].std()
    with pytest.raises(ValueError, match="size"):
        chroma_blur(images, 4)


def test_yoked_jitter_moves_all_patches_by_one_offset():
    from keras_ssl.ops import NEIGHBOUR_OFFSETS, context_patch_pairs

    size, patch, gap, jitter = 32, 6, 1, 3
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    # Channel 0 holds the row, channel 1 the column of every pixel.
    coords = np.stack([rows, cols, np.zeros_like(rows)], -1).astype("float32")
    images = np.repeat(coords[None], 64, axis=0)
    pitch = patch + gap + jitter
    for yoked in (True, False):
        centre, neighbour, positions = context_patch_pairs(
            images, patch, gap, jitter, seed=3, yoked=yoked
        )
        centre, neighbour = np.asarray(centre), np.asarray(neighbour)
        step = np.array(NEIGHBOUR_OFFSETS)[np.asarray(positions)]
        moved = neighbour[:, 0, 0, :2] - centre[:, 0, 0, :2]
        exact = np.all(moved == step * pitch, axis=-1)
        if yoked:
            assert exact.all()  # one shift for both patches
        else:
            assert not exact.all()  # independent shifts
