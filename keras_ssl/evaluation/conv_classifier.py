"""RotNet's non-linear evaluation: a NIN conv block trained on frozen features.

Reference: Gidaris, Singh & Komodakis, "Unsupervised Representation Learning
by Predicting Image Rotations", ICLR 2018, Table 1 / config
`CIFAR10_ConvClassifier_on_RotNet_NIN4blocks_Conv2_feats` of their code
(gidariss/FeatureLearningRotNet): 89.06% CIFAR-10 test accuracy with the
classifier below on block 2 of the RotNet NIN.

The classifier is the authors' `NonLinearClassifier` of type
`NIN_ConvBlock3`: a NIN block (3x3 conv, 1x1 conv, 1x1 conv, each
conv-BN-ReLU without bias, 192 channels), global average pooling and a
linear layer. The encoder stays frozen and in inference mode (the authors put
the feature extractor in `eval()`); the classifier trains for 100 epochs with
SGD (Nesterov momentum 0.9, coupled weight decay 5e-4, batch 128), learning
rate 0.1 times 0.2 after 35%, 70% and 85% of training (their epochs
35/70/85 of 100), on images randomly cropped (4-pixel zero padding) and
flipped.

Under the TensorFlow backend the training images come from a `tf.data`
pipeline; under other backends from NumPy batches (the same augmentation,
another random stream), without TensorFlow.
"""

import keras
import numpy as np
from keras import layers

from keras_ssl.architectures.nin import BN_EPSILON
from keras_ssl.evaluation._sources import to_float_images
from keras_ssl.evaluation.representation import _labeled_batches
from keras_ssl.training.coupled_weight_decay import CoupledWeightDecaySGD
from keras_ssl.utils.validation import check_bool, check_int, check_number


def nin_conv_block_classifier(
    input_shape=(8, 8, 192), num_classes=10, width=192, bn_momentum=0.9, name=None
):
    """The authors' `NIN_ConvBlock3` classifier of feature maps.

    Reference: Gidaris et al., ICLR 2018 (`architectures/NonLinearClassifier.py`).

    Layers `conv{1,2,3}_conv` / `conv{1,2,3}_bn` (3x3 then two 1x1
    convolutions without bias, batch norm with epsilon 1e-5, ReLU), `pool`
    (global average) and `logits` (dense). `keras_ssl.convert`'s
    `rotnet_pth` format loads the authors' classifier checkpoints into it.

    Args:
        input_shape: `(height, width, channels)` of the feature maps
            (block 2 of the CIFAR NIN: (8, 8, 192)).
        num_classes: classes of the task.
        width: channels of the three convolutions (192).
        bn_momentum: batch-norm momentum (0.9, PyTorch's 0.1).
        name: model name (default `"nin_conv_block_classifier"`).

    Example:

    >>> model = nin_conv_block_classifier((8, 8, 16), num_classes=10, width=8)
    >>> tuple(model.output.shape)
    (None, 10)
    """
    check_int(num_classes, "num_classes", minimum=2)
    check_int(width, "width", minimum=1)
    if len(tuple(input_shape)) != 3:
        raise ValueError(
            "input_shape must be (height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    inputs = keras.Input(tuple(input_shape), name="features")
    x = inputs
    for index, kernel in ((1, 3), (2, 1), (3, 1)):
        x = layers.Conv2D(
            width, kernel, padding="same", use_bias=False, name=f"conv{index}_conv"
        )(x)
        x = layers.BatchNormalization(
            momentum=bn_momentum, epsilon=BN_EPSILON, name=f"conv{index}_bn"
        )(x)
        x = layers.ReLU(name=f"conv{index}_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name or "nin_conv_block_classifier")


def _arrays(data, name):
    xs, ys = [], []
    for x, y in _labeled_batches(data, name, 512):
        xs.append(to_float_images(x, name))
        ys.append(np.asarray(y).reshape(-1).astype("int32"))
    if not xs:
        raise ValueError(f"{name} is empty.")
    return np.concatenate(xs), np.concatenate(ys)


def _augment(image, seed):
    # torchvision RandomCrop(32, padding=4) pads with zeros (in the
    # normalised space of the authors' loader, i.e. the mean colour there;
    # zeros in [-1, 1] are mid-grey here) + RandomHorizontalFlip.
    import tensorflow as tf

    shape = tf.shape(image)
    padded = tf.pad(image, [[4, 4], [4, 4], [0, 0]])
    image = tf.image.stateless_random_crop(padded, shape, seed)
    return tf.image.stateless_random_flip_left_right(image, seed + 1)


def _tf_dataset(train_x, train_y, batch_size, augment, seed, drop_remainder):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((train_x, train_y)).shuffle(
        len(train_x), seed=seed, reshuffle_each_iteration=True
    )
    if augment:
        seeds = tf.data.Dataset.random(seed=seed or 0).batch(2)
        dataset = tf.data.Dataset.zip((dataset, seeds)).map(
            lambda pair, s: (_augment(pair[0], s), pair[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _numpy_batches(train_x, train_y, batch_size, augment, seed, drop_remainder):
    from keras_ssl.methods.pretext_task import ArrayBatches

    class Batches(ArrayBatches):
        def __getitem__(self, index):
            images, labels = super().__getitem__(index)
            return (_augment_numpy(images, self.rng) if augment else images), labels

    return Batches(
        (train_x, train_y), batch_size, seed=seed, drop_remainder=drop_remainder
    )


def _augment_numpy(images, rng, padding=4):
    """`_augment` in NumPy: zero-padded random crops and horizontal flips."""
    count, height, width = images.shape[:3]
    padded = np.pad(images, [(0, 0), (padding, padding), (padding, padding), (0, 0)])
    rows = rng.integers(0, 2 * padding + 1, count)
    columns = rng.integers(0, 2 * padding + 1, count)
    flips = rng.random(count) < 0.5
    out = np.empty_like(images)
    for i in range(count):
        crop = padded[i, rows[i] : rows[i] + height, columns[i] : columns[i] + width]
        out[i] = crop[:, ::-1] if flips[i] else crop
    return out


def conv_block_classifier(
    encoder,
    train_data,
    test_data,
    layer="block2",
    num_classes=None,
    epochs=100,
    batch_size=128,
    learning_rate=0.1,
    weight_decay=5e-4,
    augment=True,
    seed=0,
    verbose=0,
):
    """Train the NIN conv-block classifier on a frozen layer; test accuracy.

    Reference: Gidaris et al., ICLR 2018 (the 89.06% CIFAR-10 row); see the
    module docstring for the protocol, whose defaults these are.

    Args:
        encoder: a functional Keras encoder of images in [-1, 1].
        train_data: `(images, labels)` arrays or a dataset of them.
        test_data: same, for the reported accuracy.
        layer: the encoder layer whose feature map is classified.
        num_classes: None: largest label + 1.
        epochs: training epochs (100).
        batch_size: images per step (128).
        learning_rate: initial SGD learning rate (0.1), times 0.2 after 35%,
            70% and 85% of the steps.
        weight_decay: coupled L2 weight decay (5e-4).
        augment: random 4-pixel-padded crops and horizontal flips.
        seed: seeds Keras' random state and the augmentation.
        verbose: `fit` verbosity.

    Returns:
        dict with `accuracy` (test), `train_accuracy` (last epoch, on
        augmented images), `epochs`, `steps` and `layer`.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> encoder = nin_encoder((16, 16, 3), num_blocks=3, width=8)
    >>> x = np.random.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> y = np.arange(8) % 2
    >>> result = conv_block_classifier(encoder, (x, y), (x, y), epochs=1)
    >>> 0.0 <= result["accuracy"] <= 1.0
    True
    """
    check_int(epochs, "epochs", minimum=1)
    check_int(batch_size, "batch_size", minimum=1)
    check_number(learning_rate, "learning_rate", minimum=0.0)
    check_number(weight_decay, "weight_decay", minimum=0.0)
    check_bool(augment, "augment")
    if not isinstance(encoder, keras.Model):
        raise TypeError(
            "encoder must be a functional keras.Model. Received: "
            f"{type(encoder).__name__}"
        )
    names = [item.name for item in encoder.layers]
    if layer not in names:
        raise ValueError(
            f"layer must name a layer of the encoder {encoder.name}. Received: "
            f"layer={layer!r}; available: {names}"
        )
    if seed is not None:
        keras.utils.set_random_seed(seed)
    train_x, train_y = _arrays(train_data, "train_data")
    test_x, test_y = _arrays(test_data, "test_data")
    if num_classes is None:
        num_classes = int(max(train_y.max(), test_y.max())) + 1
    features = keras.Model(
        encoder.inputs, encoder.get_layer(layer).output, name="frozen_features"
    )
    features.trainable = False
    classifier = nin_conv_block_classifier(
        tuple(features.output.shape[1:]), num_classes=num_classes
    )
    images = keras.Input(tuple(train_x.shape[1:]), name="images")
    # training=False keeps the encoder's batch norm in inference mode.
    model = keras.Model(images, classifier(features(images, training=False)))
    steps_per_epoch = max(1, len(train_x) // batch_size)
    total = steps_per_epoch * epochs
    boundaries = sorted({max(1, int(total * f)) for f in (0.35, 0.70, 0.85)})
    values = [learning_rate * 0.2**i for i in range(len(boundaries) + 1)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    model.compile(
        optimizer=CoupledWeightDecaySGD(
            schedule, momentum=0.9, nesterov=True, weight_decay=weight_decay
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    drop_remainder = len(train_x) >= batch_size
    if keras.backend.backend() == "tensorflow":
        dataset = _tf_dataset(
            train_x, train_y, batch_size, augment, seed, drop_remainder
        )
    else:
        dataset = _numpy_batches(
            train_x, train_y, batch_size, augment, seed, drop_remainder
        )
    history = model.fit(dataset, epochs=epochs, verbose=verbose)
    _, accuracy = model.evaluate(test_x, test_y, batch_size=256, verbose=0)
    return {
        "accuracy": float(accuracy),
        "train_accuracy": float(history.history["accuracy"][-1]),
        "epochs": epochs,
        "steps": total,
        "layer": layer,
    }
