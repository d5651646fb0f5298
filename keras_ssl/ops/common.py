"""Small tensor functions shared by methods, layers and evaluation.

Written once here in `keras.ops`, so that every method normalises
embeddings, scores its pretext predictions and fixes its input shapes in the
same way.
"""

from keras import ops


def l2_normalize(x, axis=-1, epsilon=1e-12):
    """`x` divided by its L2 norm along `axis` (unit vectors).

    Args:
        x: tensor (or array) of any rank.
        axis: the axis holding the vectors (default the last).
        epsilon: lower bound of the squared norm, so that a zero vector stays
            zero instead of becoming NaN.

    Returns:
        tensor of `x`'s shape whose vectors along `axis` have norm 1.

    >>> import numpy as np
    >>> y = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]], "float32"))
    >>> np.asarray(y, "float64").round(3).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    squared = ops.sum(x * x, axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(squared, epsilon))


def correct_predictions(labels, logits):
    """Per-example 1.0 where `argmax(logits)` equals the label, else 0.0.

    Args:
        labels: integer class labels of any shape S.
        logits: scores of shape S + (num_classes,).

    Returns:
        float32 tensor of shape S.

    Unlike `keras.metrics.sparse_categorical_accuracy`, the labels are
    compared as int32, never cast to the logits' dtype (float16 under mixed
    precision holds integers exactly only up to 2048).

    >>> import numpy as np
    >>> logits = np.array([[0.1, 2.0], [3.0, 0.0], [0.0, 1.0]], "float32")
    >>> np.asarray(correct_predictions(np.array([1, 1, 1]), logits)).tolist()
    [1.0, 0.0, 1.0]
    """
    predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
    return ops.cast(ops.equal(predicted, ops.cast(labels, "int32")), "float32")


def accuracy(labels, logits):
    """Top-1 accuracy: the mean of `correct_predictions(labels, logits)`.

    >>> import numpy as np
    >>> logits = np.array([[0.1, 2.0], [3.0, 0.0], [0.0, 1.0]], "float32")
    >>> round(float(accuracy(np.array([1, 1, 1]), logits)), 4)
    0.6667
    """
    return ops.mean(correct_predictions(labels, logits))


def with_static_shape(images, image_shape):
    """`images` reshaped to `(-1,) + image_shape` when that shape is known.

    Datasets of images of undecided size carry no static height and width;
    the encoder fixes them, and static shapes keep the tensor ops in-graph.
    With a `None` in `image_shape` the images are returned unchanged.

    >>> import numpy as np
    >>> tuple(with_static_shape(np.zeros((2, 4, 4, 3)), (4, 4, 3)).shape)
    (2, 4, 4, 3)
    """
    image_shape = tuple(image_shape)
    if None not in image_shape:
        images = ops.reshape(images, (-1,) + image_shape)
    return images
