"""Per-image augmentations for `tf.data` pipelines.

Every function takes one float image (H, W, C) in [-1, 1] and a stateless
seed (a shape-(2,) int tensor), and returns an image in [-1, 1]. Stateless
random ops make a pipeline reproducible for a given `seed` in
`keras_ssl.data.load`, whatever the parallelism.
"""

import tensorflow as tf


def _split_seed(seed, count):
    return tf.unstack(tf.random.experimental.stateless_split(seed, count))


def random_flip(image, seed):
    """Mirror left-right with probability 1/2."""
    return tf.image.stateless_random_flip_left_right(image, seed)


def random_crop_with_padding(image, seed, padding=4):
    """Pad by `padding` pixels (reflect) and crop back to the original size.

    The standard CIFAR augmentation (He et al. 2016 pad with zeros; reflection
    avoids introducing black borders, a colour cue for pretext tasks).
    """
    shape = tf.shape(image)
    padded = tf.pad(
        image, [[padding, padding], [padding, padding], [0, 0]], mode="REFLECT"
    )
    return tf.image.stateless_random_crop(padded, shape, seed)


def resize(image, size):
    """Bilinear resize to `size` (int or (height, width)), antialiased."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    return tf.image.resize(image, size, method="bilinear", antialias=True)


def color_jitter(image, seed, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1):
    """Random brightness, contrast, saturation and hue (SimCLR-style strengths)."""
    s1, s2, s3, s4 = _split_seed(seed, 4)
    x = (image + 1.0) / 2.0
    x = tf.image.stateless_random_brightness(x, brightness, s1)
    x = tf.image.stateless_random_contrast(x, 1 - contrast, 1 + contrast, s2)
    if image.shape[-1] == 3:
        x = tf.image.stateless_random_saturation(x, 1 - saturation, 1 + saturation, s3)
        x = tf.image.stateless_random_hue(x, hue, s4)
    return tf.clip_by_value(x, 0.0, 1.0) * 2.0 - 1.0


def random_grayscale(image, seed, probability=0.2):
    """Replace colour by luminance (kept as 3 channels) with `probability`.

    Noroozi & Favaro 2016 use grey images against colour shortcuts.
    """
    if image.shape[-1] != 3:
        return image
    grey = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(image))
    draw = tf.random.stateless_uniform([], seed)
    return tf.where(draw < probability, grey, image)


AUGMENTATIONS = {
    "flip": random_flip,
    "crop": random_crop_with_padding,
    "color_jitter": color_jitter,
    "grayscale": random_grayscale,
}


def get(augment):
    """Resolve `augment` into one function `(image, seed) -> image`, or None.

    `augment` is None, a callable `(image, seed) -> image`, a name from
    `AUGMENTATIONS` (`"flip"`, `"crop"`, `"color_jitter"`, `"grayscale"`), a
    comma-separated string of names (`"crop,flip"`) or a list of names and
    callables, applied in order.
    """
    if augment is None:
        return None
    if callable(augment):
        return augment
    if isinstance(augment, str):
        augment = [name.strip() for name in augment.split(",") if name.strip()]
    if not isinstance(augment, list | tuple):
        raise TypeError(
            "augment must be None, a callable, a name or a list of names. "
            f"Received: augment={augment!r}"
        )
    steps = []
    for step in augment:
        if callable(step):
            steps.append(step)
        elif step in AUGMENTATIONS:
            steps.append(AUGMENTATIONS[step])
        else:
            raise ValueError(
                f"Unknown augmentation {step!r}. Expected one of: "
                f"{', '.join(sorted(AUGMENTATIONS))}, or a callable."
            )

    def pipeline(image, seed):
        for step, step_seed in zip(steps, _split_seed(seed, len(steps)), strict=True):
            image = step(image, step_seed)
        return image

    return pipeline
