"""Fine-tuning a preset's representation as an image classifier.

`classifier(name, num_classes)` returns a compiled model that fine-tunes out
of the box: the pooled features are standardised by a BatchNorm before the
softmax head (as in the linear evaluation of Goyal et al., "Scaling and
Benchmarking Self-Supervised Visual Representation Learning", ICCV 2019;
GAN discriminators sum-pool, so their raw features are large and would
saturate a fresh head), the head trains alone for a warm-up, and the trunk
then learns at a hundredth of the head's rate (see `classifier`).
"""

import keras
from keras import ops

from keras_ssl.utils.validation import check_int, check_number
from keras_ssl.zoo.registry import get_preset, load

# The default fine-tuning recipe (`classifier(..., compile=True)`).
HEAD_LEARNING_RATE = 0.05
TRUNK_LEARNING_RATE = 0.0005
WARMUP_STEPS = 100
MOMENTUM = 0.9

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


@keras.saving.register_keras_serializable(package="keras_ssl")
class TrunkGradientScale(keras.layers.Layer):
    """Identity forward; scales the gradient flowing back into the trunk.

    The gradient is 0 for the first `warmup_steps` training calls (the head
    warms up on fixed features), then `scale`. With SGD, scaling the
    gradient scales the trunk's learning rate: `scale = trunk_lr / head_lr`.

    Args:
        scale: gradient factor after the warm-up.
        warmup_steps: training steps with a zero gradient to the trunk.

    Example:

    >>> layer = TrunkGradientScale(scale=0.1, warmup_steps=2)
    >>> tuple(layer(ops.ones((2, 3))).shape)
    (2, 3)
    """

    def __init__(self, scale=0.1, warmup_steps=0, **kwargs):
        super().__init__(**kwargs)
        self.scale = check_number(scale, "scale", minimum=0)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0)
        self.steps = self.add_weight(
            name="steps",
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
        )

    def call(self, inputs, training=False):
        if not training:
            return inputs
        factor = ops.where(self.steps < self.warmup_steps, 0.0, self.scale)
        factor = ops.cast(factor, inputs.dtype)
        self.steps.assign(self.steps + 1)
        return inputs * factor + ops.stop_gradient(inputs * (1 - factor))

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "warmup_steps": self.warmup_steps})
        return config


def classifier(
    name,
    num_classes,
    freeze_encoder=False,
    weights="default",
    dropout=0.0,
    compile=True,
    head_learning_rate=HEAD_LEARNING_RATE,
    trunk_learning_rate=TRUNK_LEARNING_RATE,
    warmup_steps=WARMUP_STEPS,
    **overrides,
):
    """A classifier on a preset's representation, ready to `fit`.

    The network: the preset's representation (`feature_extractor`), global
    average pooling of feature maps, a BatchNorm without scale and offset
    (standardised features, as in Goyal et al. 2019's linear evaluation),
    optional dropout and a softmax `Dense` head.

    The default recipe (`compile=True`): SGD with momentum 0.9, learning
    rate `head_learning_rate` (0.05); the trunk gets no gradient for the
    first `warmup_steps` (100) steps, so the fresh head first learns on the
    pretrained features, then learns at `trunk_learning_rate` (0.0005, a
    hundredth of the head's; the trunk's gradient is scaled by their ratio:
    faster trunk updates move a sum-pooled trunk's features faster than the
    BatchNorm's moving statistics follow, and damage what it learned);
    loss sparse categorical cross-entropy, metric accuracy. Recompiling
    with another optimizer keeps the warm-up (for adaptive optimizers such
    as Adam the ratio has no effect, since they normalise the gradient).

    Args:
        name: preset name.
        num_classes: number of classes of the new softmax head.
        freeze_encoder: keep the representation fixed (a linear probe on
            pooled features, the representation's BatchNorm in inference
            mode); otherwise everything is fine-tuned.
        weights: passed to `keras_ssl.zoo.load` (`"default"`, None, a path
            or a URL).
        dropout: dropout rate before the head.
        compile: compile with the default recipe; False returns the model
            uncompiled.
        head_learning_rate, trunk_learning_rate, warmup_steps: the recipe.
        **overrides: method factory overrides, see `keras_ssl.zoo.load`.

    Returns:
        A functional `keras.Model`: images float32 in [-1, 1] (B, H, W, C)
        -> class probabilities (B, num_classes).

    Example:

    >>> from keras_ssl import zoo
    >>> model = zoo.classifier("ssgan_digits", 10)  # doctest: +SKIP
    >>> model.fit(images, labels, epochs=10)         # doctest: +SKIP
    """
    check_int(num_classes, "num_classes", minimum=2)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    head_learning_rate = check_number(
        head_learning_rate, "head_learning_rate", minimum=0, exclusive_minimum=True
    )
    trunk_learning_rate = check_number(
        trunk_learning_rate, "trunk_learning_rate", minimum=0
    )
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
    if not freeze_encoder:
        features = TrunkGradientScale(
            trunk_learning_rate / head_learning_rate,
            warmup_steps,
            name="trunk_gradient_scale",
        )(features)
    # Momentum 0.9: pooled features can sit far from 0 (a sum-pooled GAN
    # trunk's mean about 12, spread about 1), and slower moving averages
    # would still be off after a few hundred steps.
    features = keras.layers.BatchNormalization(
        momentum=0.9, center=False, scale=False, name="feature_norm"
    )(features)
    if dropout:
        features = keras.layers.Dropout(dropout, name="dropout")(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(
        features
    )
    model = keras.Model(inputs, outputs, name=f"{preset.name}_classifier")
    if compile:
        model.compile(
            keras.optimizers.SGD(head_learning_rate, momentum=MOMENTUM),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model
