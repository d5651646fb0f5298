"""Turning any encoder's output into one feature vector per image."""

import keras
from keras import layers


def vector_pooling(encoder, argument="encoder"):
    """A layer that pools `encoder`'s output to a (B, D) vector, and D.

    Methods accept any encoder, a `keras.Model` from images to a feature map
    (B, H, W, D), a token sequence (B, T, D) or a vector (B, D); they call this
    once at build time so that an unusable encoder fails early with a clear
    error rather than inside a train step.

    Args:
        encoder: a built `keras.Model` with a single output.
        argument: the argument name used in error messages.

    Returns:
        `(layer, dim)`: a `GlobalAveragePooling2D`/`GlobalAveragePooling1D`
        layer (or `Identity` for vectors) and the feature dimension D.

    Example:

    >>> from keras_ssl.architectures import nin_encoder
    >>> pooling, dim = vector_pooling(nin_encoder((32, 32, 3), 3, width=8))
    >>> dim
    8
    """
    if not isinstance(encoder, keras.Model):
        raise TypeError(
            f"{argument} must be a keras.Model from images to features. "
            f"Received: {argument}={encoder!r}"
        )
    outputs = encoder.outputs if hasattr(encoder, "outputs") else None
    if not outputs or len(outputs) != 1:
        raise ValueError(
            f"{argument} must be a built keras.Model with exactly one output "
            "(a functional model, or a subclassed model called once). "
            f"Received: outputs={outputs}"
        )
    shape = tuple(outputs[0].shape)
    dim = shape[-1]
    if dim is None or len(shape) not in (2, 3, 4):
        raise ValueError(
            f"{argument}'s output cannot be pooled to a vector: expected shape "
            "(B, D), (B, T, D) or (B, H, W, D) with a known D. "
            f"Received: output shape={shape}"
        )
    if len(shape) == 4:
        layer = layers.GlobalAveragePooling2D()
    elif len(shape) == 3:
        layer = layers.GlobalAveragePooling1D()
    else:
        layer = layers.Identity()
    return layer, int(dim)


def _builders():
    from keras_ssl.architectures.alexnet import alexnet_encoder
    from keras_ssl.architectures.cifar_resnet import cifar_resnet
    from keras_ssl.architectures.nin import nin_encoder

    return {
        "nin": nin_encoder,
        "alexnet": alexnet_encoder,
        "resnet18": lambda **kw: cifar_resnet(18, **kw),
        "resnet34": lambda **kw: cifar_resnet(34, **kw),
        "resnet50": lambda **kw: cifar_resnet(50, **kw),
    }


ENCODER_NAMES = ("nin", "alexnet", "resnet18", "resnet34", "resnet50")


def build_encoder(encoder, input_shape, config=None, argument="encoder"):
    """An encoder by name, or a given `keras.Model` checked against the images.

    Method factories call this so that `encoder` may be a name (`"nin"`,
    `"alexnet"`, `"resnet18"`, `"resnet34"`, `"resnet50"`, built for
    `input_shape` with the keyword arguments in `config`) or a ready
    `keras.Model`, whose known input dimensions must match `input_shape`.

    Example:

    >>> build_encoder("nin", (32, 32, 3), {"width": 8, "num_blocks": 3}).name
    'nin_encoder'
    """
    config = dict(config or {})
    if isinstance(encoder, str):
        builders = _builders()
        if encoder not in builders:
            raise ValueError(
                f"{argument} must be a keras.Model or one of {ENCODER_NAMES}. "
                f"Received: {argument}={encoder!r}"
            )
        return builders[encoder](input_shape=tuple(input_shape), **config)
    if not isinstance(encoder, keras.Model):
        raise TypeError(
            f"{argument} must be a keras.Model or one of {ENCODER_NAMES}. "
            f"Received: {argument}={encoder!r}"
        )
    if config:
        raise ValueError(
            f"{argument}_config applies only to an encoder given by name. "
            f"Received: {argument}={encoder.name!r}, config={config}"
        )
    check_encoder_input(encoder, input_shape, argument)
    return encoder


def check_encoder_input(encoder, input_shape, argument="encoder"):
    """Raise a clear error if `encoder` cannot take inputs of `input_shape`."""
    expected = tuple(input_shape)
    try:
        received = tuple(encoder.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError):
        return
    if len(received) != len(expected) or any(
        r is not None and r != e for r, e in zip(received, expected)
    ):
        raise ValueError(
            f"{argument} must take inputs of shape {expected}. "
            f"Received: {argument} input shape={received}"
        )
