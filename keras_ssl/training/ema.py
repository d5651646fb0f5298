"""Exponential moving average (EMA) of a generator, and its own BN statistics.

BigGAN (Brock et al., ICLR 2019) and S3GAN (Lucic et al., ICML 2019) sample
from an exponential moving average of the generator's weights. compare_gan
(`ModularGAN(g_use_ema=True, ema_decay, ema_start_step)`) applies, after
each generator update,

    average = d * average + (1 - d) * weights,
    d = ema_decay if the step has reached ema_start_step else 0,

so before `ema_start_step` (40,000 in its BigGAN / S3GAN runs) the average
is a plain copy of the weights. Only trainable weights are averaged; the
other variables (spectral-norm vectors, batch-norm statistics) are the
generator's own.

Batch-norm statistics gathered while training the raw weights do not fit
the averaged weights. compare_gan's BigGAN generators use accumulated
("standing") statistics, which its evaluation refills with the EMA weights
before sampling (`_update_bn_accumulators`, 204,800 samples).
`refresh_statistics` does that for any generator:

- `StandingBatchNormalization` layers: accumulators reset, then
  `num_batches` batches in inference mode with `update_accus = 1`, as
  compare_gan does: each call adds its batch mean and (biased) variance, and
  inference uses their running means.
- batch norms with moving statistics (Keras' `BatchNormalization` and every
  layer holding `moving_mean`, `moving_variance` and `momentum`, such as
  `TorchBatchNormalization`, also inside conditional / self-modulated BN):
  the same batches run through the generator in training mode, and each
  layer's `moving_mean` / `moving_variance` become the plain average over
  the batches of its batch mean / batch variance (the variance the layer
  itself records: biased for Keras' layer, unbiased for the PyTorch-style
  one). In training mode every batch norm normalises with its own batch
  statistics, so a layer's inputs are those it sees in training. compare_gan
  keeps the raw generator's moving averages for such layers; recomputing
  them from the averaged weights is BigGAN's standing-statistics idea
  applied to moving-average layers.

Everything else the pass could change (spectral-norm vectors, which advance
in training mode; random-number states) is restored afterwards. The update
is written with `keras.ops` and `Variable.assign`, so it runs in any
backend's train step (under a `tf.distribute` strategy it updates every
replica's copy).
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.utils.validation import check_int, check_number

# compare_gan's defaults (ModularGAN) and its evaluation batch size.
COMPARE_GAN_EMA_DECAY = 0.9999
COMPARE_GAN_EMA_START_STEP = 40000
STATISTICS_BATCH_SIZE = 64


def average_decay(decay, step, start_step=0):
    """The decay applied by update number `step` (1-based): 0 until `step`
    exceeds `start_step` (the average copies the weights), then `decay`.

    With `start_step=0` every update averages. `step` may be a tensor or a
    variable (e.g. the generator optimizer's `iterations` after its update).

    Example:

    >>> [round(float(average_decay(0.9, s, start_step=2)), 6) for s in (1, 2, 3)]
    [0.0, 0.0, 0.9]
    """
    started = ops.greater(ops.convert_to_tensor(step), start_step)
    return ops.cast(started, "float32") * decay


def update_average(average, model, decay, step, start_step=0):
    """One EMA update of `average` (a clone of `model`) after `model`'s update.

    Trainable weights: `average = d * average + (1 - d) * weights` with
    `d = average_decay(decay, step, start_step)`; every other variable is
    copied from `model` (spectral-norm vectors, batch-norm statistics,
    which `refresh_statistics` recomputes before sampling).

    Args:
        average: the averaged model (same architecture as `model`).
        model: the trained model.
        decay: the EMA decay in [0, 1).
        step: the number of this update, 1-based (a tensor or variable).
        start_step: updates up to this one copy the weights.

    Example:

    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> average = keras.models.clone_model(model)
    >>> average.set_weights([w * 0 for w in model.get_weights()])
    >>> update_average(average, model, 0.75, step=1)
    >>> bool(np.allclose(average.get_weights()[0], 0.25 * model.get_weights()[0]))
    True
    """
    pairs = list(zip(average.weights, model.weights))
    if len(average.weights) != len(model.weights):
        raise ValueError(
            "average must be a clone of model (the same variables). Received: "
            f"{len(average.weights)} and {len(model.weights)} variables"
        )
    d = average_decay(decay, step, start_step)

    def update(ema_value, value, trainable, d):
        if trainable:
            return ema_value.assign(d * ema_value + (1.0 - d) * value)
        return ema_value.assign(value)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is not None and tf.distribute.has_strategy():

            def cross_replica(strategy, d):
                for ema, var in pairs:
                    strategy.extended.update(
                        ema.value,
                        update,
                        args=(var.value, var.trainable, d),
                        group=False,
                    )

            context.merge_call(cross_replica, args=(d,))
            return
    for ema, var in pairs:
        update(ema, var.value, var.trainable, d)


def _sublayers(model):
    return list(model._flatten_layers(include_self=False, recursive=True))


def standing_layers(model):
    """The `StandingBatchNormalization` layers of `model`, nested ones included."""
    from keras_ssl.layers.standing_batch_normalization import (
        StandingBatchNormalization,
    )

    return [
        layer
        for layer in _sublayers(model)
        if isinstance(layer, StandingBatchNormalization)
    ]


def moving_statistics_layers(model):
    """Layers of `model` with `moving_mean`, `moving_variance` and `momentum`."""
    return [
        layer
        for layer in _sublayers(model)
        if isinstance(getattr(layer, "moving_mean", None), keras.Variable)
        and isinstance(getattr(layer, "moving_variance", None), keras.Variable)
        and isinstance(getattr(layer, "momentum", None), int | float)
    ]


def _default_inputs(generator, num_classes):
    z_dim = int(generator.inputs[0].shape[-1])
    conditional = len(generator.inputs) > 1
    if conditional and num_classes is None:
        raise ValueError(
            "refresh_statistics needs num_classes (or inputs=) for a generator "
            f"with {len(generator.inputs)} inputs."
        )

    def inputs(rng, n):
        z = rng.standard_normal((n, z_dim)).astype("float32")
        if not conditional:
            return z
        return [z, rng.integers(0, num_classes, size=n).astype("int32")]

    return inputs


def refresh_statistics(
    generator,
    num_batches,
    batch_size=STATISTICS_BATCH_SIZE,
    inputs=None,
    num_classes=None,
    seed=0,
):
    """Recompute `generator`'s batch-norm statistics from its own weights.

    See the module docstring for what is computed: standing accumulators
    are refilled in inference mode, moving statistics become the average of
    the batch statistics of `num_batches` batches run in training mode.
    The same `seed` gives the same batches, so the same weights give the
    same statistics.

    Args:
        generator: a `keras.Model` (e.g. a GAN's `ema_generator`).
        num_batches: batches of generated samples to compute them on.
        batch_size: samples per batch (compare_gan's evaluation uses 64).
        inputs: a callable `(numpy Generator, n) -> generator inputs`;
            default z ~ N(0, I) (and uniform labels in `[0, num_classes)`
            for a second input).
        num_classes: classes of a conditional generator's labels.
        seed: seed of the inputs.

    Returns:
        The number of batch-norm layers refreshed.

    Example:

    >>> g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
    ...                       keras.layers.BatchNormalization()])
    >>> refresh_statistics(g, num_batches=2, batch_size=8)
    1
    """
    num_batches = check_int(num_batches, "num_batches", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    inputs = inputs or _default_inputs(generator, num_classes)
    moving = moving_statistics_layers(generator)
    standing = standing_layers(generator)
    if moving:
        _refresh_moving(generator, moving, num_batches, batch_size, inputs, seed)
    if standing:
        _refresh_standing(generator, standing, num_batches, batch_size, inputs, seed)
    return len(moving) + len(standing)


def _refresh_moving(generator, layers, num_batches, batch_size, inputs, seed):
    statistics = {id(v) for layer in layers for v in layer.non_trainable_weights}
    # Spectral-norm vectors and other state advance in training mode: keep
    # their values.
    kept = [
        (v, np.array(keras.ops.convert_to_numpy(v.value)))
        for v in generator.non_trainable_weights
        if id(v) not in statistics
    ]
    saved = [(layer, layer.momentum, layer.trainable) for layer in layers]
    rng = np.random.default_rng(seed)
    try:
        for layer in layers:
            # Keras' batch norm runs in inference mode while frozen.
            layer.trainable = True
        for i in range(1, num_batches + 1):
            for layer in layers:
                # moving = m * moving + (1 - m) * batch with m = (i - 1) / i
                # is the running mean of the i batch statistics so far.
                layer.momentum = (i - 1) / i
            generator(inputs(rng, batch_size), training=True)
    finally:
        for layer, momentum, trainable in saved:
            layer.momentum = momentum
            layer.trainable = trainable
        for variable, value in kept:
            variable.assign(value)


def _refresh_standing(generator, layers, num_batches, batch_size, inputs, seed):
    for layer in layers:
        layer.start_accumulating()
    rng = np.random.default_rng(seed)
    try:
        for _ in range(num_batches):
            generator(inputs(rng, batch_size), training=False)
    finally:
        for layer in layers:
            layer.stop_accumulating()


def check_ema_options(decay, start_step, statistics_batches):
    """Validated `(ema_decay, ema_start_step, standing_statistics_batches)`."""
    decay = check_number(decay, "ema_decay", minimum=0, maximum=1, allow_none=True)
    if decay == 1.0:
        raise ValueError(
            "ema_decay must be a number in [0, 1) or None (1 would never "
            "update the average). Received: ema_decay=1.0"
        )
    start_step = check_int(start_step, "ema_start_step", minimum=0)
    statistics_batches = check_int(
        statistics_batches, "standing_statistics_batches", minimum=0
    )
    return decay, start_step, statistics_batches
