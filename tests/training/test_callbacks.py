import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_ssl import data
from keras_ssl.training import (
    EpochSummary,
    MaxHours,
    NaNGuard,
    NonFiniteLossError,
    SampleGrid,
    TrainingCheckpoint,
    image_grid,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    preview_sheet,
    read_checkpoint_header,
    save_checkpoint,
    train,
)
from tests.training.toy_methods import build_toy_gan


def digits_dataset(batch_size=16, limit=64, image_size=8):
    images, labels = data.load_arrays(
        "digits", image_size=image_size, limit=limit, seed=1
    )
    return (
        images,
        labels,
        tf.data.Dataset.from_tensor_slices((images, labels)).batch(
            batch_size, drop_remainder=True
        ),
    )


def variables_of(model):
    return [keras.ops.convert_to_numpy(v) for v in model.variables]


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path):
    images, labels, _ = digits_dataset(limit=64)
    poisoned = images.copy()
    poisoned[:] = np.nan
    batch = 16
    # 12 good steps (three passes over 4 batches), then NaN images.
    good = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch).repeat(3)
    bad = tf.data.Dataset.from_tensor_slices((poisoned, labels)).batch(batch)
    with pytest.raises(NonFiniteLossError) as raised:
        train(
            build_toy_gan,
            good.concatenate(bad),
            out=tmp_path,
            steps=40,
            batch_size=batch,
            steps_per_epoch=8,
            checkpoint_every=5,
            sample_every=0,
            log_every=5,
        )
    error = raised.value
    assert error.step == 13
    assert error.name in ("d_loss", "g_loss")
    assert "step 13" in str(error) and str(tmp_path) in str(error)
    checkpoint = latest_checkpoint(tmp_path / "checkpoints")
    assert read_checkpoint_header(checkpoint)["step"] == 10
    model = build_toy_gan()
    model.compile()
    load_checkpoint(model, checkpoint)
    assert all(np.all(np.isfinite(v)) for v in variables_of(model))
    assert np.all(np.isfinite(model.generate(4, seed=0)))


def test_nan_guard_names_the_loss_and_the_step():
    guard = NaNGuard(initial_step=100)
    guard.on_epoch_begin(0)
    guard.on_train_batch_end(0, {"d_loss": 0.5, "g_loss": 0.7})
    with pytest.raises(NonFiniteLossError, match="'g_loss' became inf at step 102"):
        guard.on_train_batch_end(1, {"d_loss": 0.5, "g_loss": np.inf})


def test_checkpoint_round_trip_covers_optimizers_and_rng(tmp_path):
    _, _, dataset = digits_dataset()
    model = build_toy_gan()
    model.compile()
    model.fit(dataset.repeat(), steps_per_epoch=3, verbose=0)
    path = save_checkpoint(model, tmp_path, step=3)
    assert os.path.basename(path) == "ckpt-000000003.npz"
    header = read_checkpoint_header(path)
    assert {"model", "optimizer:d_optimizer", "optimizer:g_optimizer"} <= set(
        header["groups"]
    )
    expected = variables_of(model) + [
        keras.ops.convert_to_numpy(v)
        for v in model.d_optimizer.variables + model.g_optimizer.variables
    ]
    assert int(model.d_optimizer.iterations) == 3

    restored = build_toy_gan()
    restored.compile()
    load_checkpoint(restored, path)
    actual = variables_of(restored) + [
        keras.ops.convert_to_numpy(v)
        for v in restored.d_optimizer.variables + restored.g_optimizer.variables
    ]
    for a, b in zip(expected, actual, strict=True):
        np.testing.assert_array_equal(a, b)
    # The seed generator state is restored too: both draw the same noise next.
    np.testing.assert_array_equal(
        keras.random.normal((3,), seed=model.seed_generator),
        keras.random.normal((3,), seed=restored.seed_generator),
    )


def test_checkpoint_writes_atomically_and_keeps_the_newest(tmp_path):
    model = build_toy_gan()
    model.compile()
    for step in (5, 10, 15):
        save_checkpoint(model, tmp_path, step=step, keep=2)
    # A torn write (process killed mid-write) leaves only a temporary file,
    # which is never mistaken for a checkpoint.
    (tmp_path / "ckpt-000000020.npz.tmp-123").write_bytes(b"torn")
    assert [step for step, _ in list_checkpoints(tmp_path)] == [10, 15]
    assert latest_checkpoint(tmp_path).endswith("ckpt-000000015.npz")


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    model = build_toy_gan()
    model.compile()
    save_checkpoint(model, tmp_path, step=1)
    model.generator.weights[0].assign(np.full(model.generator.weights[0].shape, np.nan))
    with pytest.raises(FloatingPointError, match="NaN or Inf"):
        save_checkpoint(model, tmp_path, step=2)
    assert [step for step, _ in list_checkpoints(tmp_path)] == [1]


def test_checkpoint_mismatch_is_a_clear_error(tmp_path):
    model = build_toy_gan(width=16)
    model.compile()
    path = save_checkpoint(model, tmp_path, step=1)
    other = build_toy_gan(width=8)
    other.compile()
    with pytest.raises(ValueError, match="shape"):
        load_checkpoint(other, path)


def test_sample_grid_writes_fixed_noise_png(tmp_path):
    model = build_toy_gan(image_size=8, channels=1)
    callback = SampleGrid(tmp_path / "samples", every_n_steps=2, num_samples=6)
    callback.set_model(model)
    callback.on_epoch_begin(0)
    for batch in range(4):
        callback.on_train_batch_end(batch)
    names = sorted(os.listdir(tmp_path / "samples"))
    assert names == ["step_000000002.png", "step_000000004.png"]
    first, second = (np.asarray(Image.open(tmp_path / "samples" / n)) for n in names)
    # 6 samples -> 3 columns x 2 rows of 8x8 with 1-pixel gaps.
    assert first.shape == (17, 26)
    np.testing.assert_array_equal(first, second)  # same weights, same noise
    grid = image_grid(model.generate(6, seed=0))
    np.testing.assert_array_equal(grid[..., 0], first)


class _Autoencoder(keras.Model):
    """A reconstruction method that defines `preview` (no `generate`)."""

    def __init__(self):
        super().__init__()
        self.net = keras.layers.Conv2D(1, 1)

    def call(self, images):
        return self.net(images)

    def preview(self, images):
        def to_uint8(x):
            return np.clip((np.asarray(x) + 1) * 127.5, 0, 255).astype("uint8")

        return [to_uint8(images), to_uint8(self(images))]


def test_sample_grid_writes_preview_sheets_of_a_fixed_batch(tmp_path):
    images, labels, _ = digits_dataset(limit=16)
    model = _Autoencoder()
    model(images[:1])
    grid = SampleGrid(
        tmp_path, every_n_steps=1, preview_batch=(images, labels), num_preview=3
    )
    grid.set_model(model)
    grid.on_epoch_begin(0)
    grid.on_train_batch_end(0)
    assert [os.path.basename(p) for p in grid.written] == ["step_000000001_preview.png"]
    sheet = np.asarray(Image.open(grid.written[0]))
    # 3 rows of input | reconstruction, 8x8 tiles with 1-pixel gaps.
    assert sheet.shape == (3 * 8 + 2, 2 * 8 + 1)
    first = np.clip((images[0, ..., 0] + 1) * 127.5, 0, 255).astype("uint8")
    np.testing.assert_array_equal(sheet[:8, :8], first)
    with pytest.raises(ValueError, match="uint8 arrays of shape"):
        preview_sheet([images])


def test_max_hours_stops_cleanly_with_a_final_checkpoint(tmp_path):
    _, _, dataset = digits_dataset()
    model = build_toy_gan()
    model.compile()
    checkpoint = TrainingCheckpoint(tmp_path, every_n_steps=None)
    stopper = MaxHours(1e-9, checkpoint=checkpoint)
    model.fit(
        dataset.repeat(),
        steps_per_epoch=50,
        epochs=2,
        callbacks=[checkpoint, stopper],
        verbose=0,
    )
    assert stopper.stopped and checkpoint.step == 1
    assert read_checkpoint_header(latest_checkpoint(tmp_path))["step"] == 1
    with pytest.raises(
        ValueError, match="hours must be a number > 0. Received: hours=0"
    ):
        MaxHours(0)


def test_epoch_summary_is_one_line_per_epoch():
    lines = []
    summary = EpochSummary(
        total_steps=20, epochs=2, initial_step=0, print_fn=lines.append
    )
    for epoch in range(2):
        summary.on_epoch_begin(epoch)
        for batch in range(10):
            summary.on_train_batch_end(batch)
        summary.on_epoch_end(epoch, {"d_loss": 1.0, "g_loss": 2.0})
    assert len(lines) == 2
    assert lines[1].startswith("epoch 2/2  step 20/20  d_loss 1.0000  g_loss 2.0000")
