import keras
from keras import ops

from keras_ssl.utils.validation import check_int, check_number


@keras.saving.register_keras_serializable(package="keras_ssl")
class ImagePool(keras.layers.Layer):
    """A buffer of past generated images that the discriminator trains on.

    Shrivastava et al., "Learning from Simulated and Unsupervised Images
    through Adversarial Training", CVPR 2017, as CycleGAN uses it (Zhu et
    al., ICCV 2017; upstream `util/image_pool.py`): while the pool holds
    fewer than `size` images, each new image is stored and returned; once
    it is full, each image is, with probability `probability`, swapped
    with a random stored one (the stored image is returned and the new one
    takes its place), and otherwise returned as is.

    All draws of one batch are made against the pool as it was before the
    batch (upstream goes image by image, so a later image of the same batch
    can receive one stored a moment earlier); when two images of a batch
    pick the same slot, the later one is stored. In inference mode (and for
    `size=0`) the layer is the identity. The pool is part of the model's
    state (saved with it); under a distribution strategy the first
    replica's pool is kept.

    Args:
        size: images kept (paper: 50).
        probability: chance that a full pool returns a stored image.
        seed: seed of the random draws.

    Example:

    >>> pool = ImagePool(size=2)
    >>> x = ops.ones((1, 4, 4, 3))
    >>> out = pool(x, training=True)  # the pool fills first: returns x
    >>> int(ops.convert_to_numpy(pool.count))
    1
    """

    def __init__(self, size=50, probability=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.size = check_int(size, "size", minimum=0)
        self.probability = check_number(probability, "probability", 0, 1)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 4 or any(d is None for d in input_shape[1:]):
            raise ValueError(
                "ImagePool needs images (B, H, W, C) of known H, W and C. "
                f"Received: input_shape={input_shape}"
            )
        self.images = self.add_weight(
            name="images",
            shape=(max(self.size, 1),) + tuple(input_shape[1:]),
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )
        self.count = self.add_weight(
            name="count",
            shape=(),
            initializer="zeros",
            dtype="int32",
            trainable=False,
            aggregation="only_first_replica",
        )

    def call(self, images, training=False):
        if not training or self.size == 0:
            return images
        batch = ops.shape(images)[0]
        pool = ops.cast(self.images, images.dtype)
        # Slots this batch fills count as stored for the swaps after them, as
        # in the authors' one-image-at-a-time loop (else a swap in the batch
        # that fills the pool could return a still-empty slot).
        fill_position = ops.arange(self.size, dtype="int32") - self.count
        filled_now = ops.logical_and(fill_position >= 0, fill_position < batch)
        fresh = ops.take(images, ops.clip(fill_position, 0, batch - 1), axis=0)
        pool = ops.where(ops.reshape(filled_now, (-1, 1, 1, 1)), fresh, pool)
        positions = self.count + ops.arange(batch, dtype="int32")
        filling = positions < self.size
        draw = keras.random.uniform((batch,), seed=self.seed_generator)
        random_slot = keras.random.randint(
            (batch,), 0, self.size, seed=self.seed_generator, dtype="int32"
        )
        swap = ops.logical_and(ops.logical_not(filling), draw < self.probability)
        slot = ops.where(filling, positions, random_slot)
        write = ops.logical_or(filling, swap)
        returned = ops.where(
            ops.reshape(swap, (-1, 1, 1, 1)), ops.take(pool, slot, axis=0), images
        )
        # For each slot, the last image of the batch written there (1-based,
        # 0 for none), then a (slots, batch) selection of that image.
        writer = ops.where(write, ops.arange(1, batch + 1, dtype="int32"), 0)
        hits = ops.expand_dims(slot, 1) == ops.arange(self.size, dtype="int32")
        last = ops.max(ops.where(hits, ops.expand_dims(writer, 1), 0), axis=0)
        select = ops.logical_and(
            ops.expand_dims(last, 1) == ops.expand_dims(writer, 0),
            ops.expand_dims(last, 1) > 0,
        )
        written = ops.einsum("sb,bhwc->shwc", ops.cast(select, images.dtype), images)
        keep = ops.reshape(last == 0, (-1, 1, 1, 1))
        self.images.assign(ops.cast(ops.where(keep, pool, written), self.images.dtype))
        self.count.assign(ops.minimum(self.count + batch, self.size))
        return returned

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"size": self.size, "probability": self.probability, "seed": self.seed}
        )
        return config
