"""Fine-tuning a preset's representation as an image classifier."""

import keras

from keras_ssl.zoo.registry import get_preset, load

_POOLING_LAYERS = (
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
)


def feature_extractor(model, image_shape=None):
    """The representation network of a method model.

    The method's `.encoder` when it has one; for GANs the discriminator's
    feature trunk: the discriminator from its image input up to its pooled
    features (the input of its output heads), as in the SS-GAN and S3GAN
    papers' evaluation of D's representation.

    Args:
        model: a method model.
        image_shape: `(height, width, channels)` of the images to encode;
            an encoder trained on tiles is rebuilt for them (`at_image_size`).

    Returns:
        A `keras.Model` mapping images in [-1, 1] to features.
    """
    trunk = _trunk(model)
    return trunk if image_shape is None else at_image_size(trunk, image_shape)


def _trunk(model):
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, keras.Model):
        return encoder
    discriminator = getattr(model, "discriminator", None)
    if not isinstance(discriminator, keras.Model):
        raise ValueError(
            "Expected a method model with an `encoder` or a `discriminator`. "
            f"Received: {type(model).__name__}"
        )
    for attribute in ("feature_extractor", "features_model", "trunk"):
        trunk = getattr(discriminator, attribute, None)
        if isinstance(trunk, keras.Model):
            return trunk
    try:
        inputs = discriminator.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            f"The discriminator {discriminator.name!r} of {type(model).__name__} "
            "has no symbolic inputs, so its feature trunk cannot be cut out."
        )
    names = [layer.name for layer in discriminator.layers]
    candidates = [discriminator.get_layer("features")] if "features" in names else []
    candidates += [
        layer
        for layer in reversed(discriminator.layers)
        if isinstance(layer, _POOLING_LAYERS)
        or "pool" in layer.name
        or "Pooling" in type(layer).__name__
    ]
    if candidates:
        return keras.Model(
            inputs[0], candidates[0].output, name=f"{discriminator.name}_features"
        )
    raise ValueError(
        f"No pooling layer found in the discriminator {discriminator.name!r} of "
        f"{type(model).__name__}; cannot tell where its features end."
    )


def at_image_size(encoder, image_shape):
    """`encoder` applied to whole images of `image_shape`.

    Tile and patch methods (Jigsaw, DeepPermNet, context prediction) train
    their encoder on small tiles; a convolutional encoder applies unchanged
    to whole images, so it is rebuilt for the larger input and given the
    trained weights (a copy: fine-tuning it leaves the method untouched).
    """
    expected = tuple(encoder.input_shape[1:])
    image_shape = tuple(image_shape)
    if all(e is None or e == i for e, i in zip(expected, image_shape)):
        return encoder
    inputs = keras.Input(image_shape, name="images")
    try:
        rebuilt = keras.models.clone_model(encoder, input_tensors=inputs)
        rebuilt.set_weights(encoder.get_weights())
    except ValueError as error:
        raise ValueError(
            f"The encoder {encoder.name!r} takes inputs of shape {expected} and "
            f"cannot be applied to images of shape {image_shape}: {error}"
        ) from error
    return rebuilt


def classifier(
    name,
    num_classes,
    freeze_encoder=False,
    weights="default",
    dropout=0.0,
    **overrides,
):
    """A classifier on a preset's representation, ready to `compile` and `fit`.

    Args:
        name: preset name.
        num_classes: number of classes of the new softmax head.
        freeze_encoder: keep the representation fixed (a linear probe on
            pooled features, the representation's BatchNorm in inference
            mode); otherwise everything is fine-tuned.
        weights: passed to `keras_ssl.zoo.load` (`"default"`, None, a path
            or a URL).
        dropout: dropout rate before the head.
        **overrides: method factory overrides, see `keras_ssl.zoo.load`.

    Returns:
        An uncompiled functional `keras.Model`: images float32 in [-1, 1]
        (B, H, W, C) -> class probabilities (B, num_classes).

    Example:

    >>> from keras_ssl import zoo
    >>> model = zoo.classifier("rotnet_cifar10", 10, weights=None)  # doctest: +SKIP
    >>> model.compile("adam", "sparse_categorical_crossentropy")     # doctest: +SKIP
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(
            f"num_classes must be an integer. Received: num_classes={num_classes!r}"
        )
    if num_classes < 2:
        raise ValueError(
            f"num_classes must be at least 2. Received: num_classes={num_classes}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    preset = get_preset(name)
    model = load(preset, weights=weights, **overrides)
    image_size = overrides.get("image_size", preset.image_size)
    channels = overrides.get("channels", preset.channels)
    trunk = feature_extractor(model, (image_size, image_size, channels))
    inputs = keras.Input((image_size, image_size, channels), name="images")
    if freeze_encoder:
        trunk.trainable = False
        features = trunk(inputs, training=False)
    else:
        features = trunk(inputs)
    features = keras.tree.flatten(features)[-1]
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    elif len(features.shape) != 2:
        features = keras.layers.Flatten(name="flatten")(features)
    if dropout:
        features = keras.layers.Dropout(dropout, name="dropout")(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(
        features
    )
    return keras.Model(inputs, outputs, name=f"{preset.name}_classifier")
