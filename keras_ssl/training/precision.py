"""Mixed precision: float16 on GPUs with loss scaling, bfloat16 elsewhere.

`mixed_float16` computes in float16 and keeps variables in float32; its
small exponent range needs loss scaling (`keras.optimizers.
LossScaleOptimizer`; a method's train step multiplies each loss by
`optimizer.scale_loss(loss)`, which is the identity for other optimizers).
`mixed_bfloat16` has float32's exponent range and needs no loss scaling; it
is fast on TPUs, recent GPUs and CPUs with AVX512-BF16/AMX.

Batch-normalization statistics are computed in float32 by Keras whatever the
policy; spectral normalization keeps its power-iteration vectors as float32
variables.
"""

import contextlib

import keras

POLICIES = (None, "float32", "mixed_float16", "mixed_bfloat16")


def check_policy(policy):
    if policy not in POLICIES:
        raise ValueError(
            f"mixed_precision must be one of {POLICIES}. "
            f"Received: mixed_precision={policy!r}"
        )
    return policy or "float32"


@contextlib.contextmanager
def precision_policy(policy):
    """Set the global dtype policy for the duration of a `with` block.

    Models must be built inside the block; the previous policy is restored
    on exit so that later models are unaffected.

    Example:

    >>> with precision_policy("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(2)
    >>> layer.compute_dtype, layer.variable_dtype
    ('bfloat16', 'float32')
    """
    name = check_policy(policy)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield keras.config.dtype_policy()
    finally:
        keras.config.set_dtype_policy(previous)


def wrap_for_loss_scaling(optimizer, policy):
    """Wrap `optimizer` in a `LossScaleOptimizer` when `policy` needs it."""
    if check_policy(policy) != "mixed_float16":
        return optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
