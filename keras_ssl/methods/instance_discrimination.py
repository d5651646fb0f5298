"""Non-parametric instance discrimination (NPID).

Reference: Wu, Xiong, Yu & Lin, "Unsupervised Feature Learning via
Non-Parametric Instance Discrimination", CVPR 2018.

Every training image is its own class. An encoder and a linear head give
128-d L2-normalised embeddings f_i = normalize(W pool(encoder(aug(x_i)))); a
memory bank holds one running embedding v_i per example, and the probability
of instance i is

    P(i | f) = exp(f . v_i / t) / sum_j exp(f . v_j / t),   t = 0.07

estimated with NCE against 4096 bank rows drawn uniformly as noise
(`keras_ssl.losses.nce_loss`). After each step the bank rows of the batch
move towards the new embeddings (`keras_ssl.layers.MemoryBank`):

    v_i <- normalize(0.5 v_i + 0.5 f_i)

The method is evaluated by weighted kNN (k = 200, votes exp(s / 0.1) as in
the paper's CIFAR code) of the embeddings: `knn_accuracy`, or the
`KNNMonitor` callback that adds `knn_accuracy` to the logs of `fit`.

Dataset format: the bank needs each example's index in the dataset, as for
`RotationDecoupling`. Batches are `(images, indices)`,
`(images, labels, indices)` (the last element is always the int index in
[0, num_examples)) or `{"images": ..., "indices": ...}`;
`keras_ssl.methods.rotation_decoupling.indexed_dataset` builds such a
dataset from arrays (a `tf.data.Dataset` on TensorFlow, an `ArrayBatches`
on other backends) and `add_indices` numbers a dataset's examples;
`fit(images, np.arange(len(images)), batch_size=...)` trains on the same
batches. The train step is written once through
`keras_ssl.methods.backend_step` (TensorFlow or JAX), and the kNN
evaluation (`knn_accuracy`, `KNNMonitor`) runs on either.

The memory bank is a model variable: it is saved with the model and in the
training checkpoints. Under `tf.distribute.MirroredStrategy` the train step
gathers the embeddings and indices of all replicas, and every replica
applies the update of the global batch, so the bank copies stay identical;
noise rows are drawn for the global batch and sliced per replica. With
`nce_kind="softmax"` a mirrored step equals a single-device step on the
same global batch; with the binary NCE each replica estimates Z from its
own noise rows (a slightly different Monte-Carlo estimate).

Augmentation (`augment=True`, on by default as in the paper): random
horizontal flip, translation by up to 1/8 of the side (reflect padding),
colour jitter and random greyscale, in the train step.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.encoders import build_encoder, vector_pooling
from keras_ssl.layers.memory_bank import MemoryBank
from keras_ssl.losses.nce import NCE_KINDS, memory_bank_nce_loss
from keras_ssl.methods import backend_step
from keras_ssl.methods.image_methods import float_images as _float_images
from keras_ssl.methods.image_methods import uint8_images as _uint8_images
from keras_ssl.methods.registry import register_method
from keras_ssl.ops import l2_normalize
from keras_ssl.training.distribute import (
    gather_replicas,
    num_replicas,
    replica_share,
)
from keras_ssl.utils.validation import (
    check_bool,
    check_choice,
    check_int,
    check_number,
)


def _augmentation(channels, seed):
    layers = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(0.125, 0.125, fill_mode="reflect", seed=seed),
    ]
    if channels == 3:
        layers += [
            keras.layers.RandomColorJitter(
                value_range=(-1, 1),
                brightness_factor=0.4,
                contrast_factor=0.4,
                saturation_factor=0.4,
                hue_factor=0.1,
                seed=seed,
            ),
            keras.layers.RandomGrayscale(0.2, seed=seed),
        ]
    return keras.Sequential(layers, name="augmentation")


@keras.saving.register_keras_serializable(package="keras_ssl")
class InstanceDiscrimination(keras.Model):
    """NPID (Wu et al. 2018); see the module docstring.

    Args:
        encoder: a `keras.Model` from images (B, H, W, C) in [-1, 1] to a
            feature map or vector; exposed as `.encoder`.
        num_examples: size of the training set (rows of the memory bank).
        embedding_dim: size of the normalised embedding (128).
        temperature: NCE temperature t (0.07).
        num_negatives: noise rows per example (4096).
        momentum: memory-bank momentum (0.5).
        nce_kind: "nce" (the paper's binary NCE) or "softmax" (sampled
            softmax); see `keras_ssl.losses.nce_loss`.
        augment: augment images in the train step (see the module docstring).
        seed: seed of the bank, the noise and the augmentation.

    `call(images)` returns the embeddings (B, embedding_dim). `fit` logs
    `nce_loss` and `positive_similarity`, the mean cosine between each
    embedding and its own bank row (it rises as the embeddings stabilise).

    Example:

    >>> import numpy as np
    >>> from keras_ssl.methods.rotation_decoupling import indexed_dataset
    >>> model = build_instance_discrimination(
    ...     16, num_examples=8, embedding_dim=4, num_negatives=6,
    ...     encoder="nin", encoder_config={"width": 8, "num_blocks": 3})
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> history = model.fit(indexed_dataset(images, batch_size=4), verbose=0)
    >>> sorted(history.history)
    ['nce_loss', 'positive_similarity']
    """

    # Batches must carry each example's index (see the module docstring).
    requires_indices = True

    def __init__(
        self,
        encoder,
        num_examples,
        embedding_dim=128,
        temperature=0.07,
        num_negatives=4096,
        momentum=0.5,
        nce_kind="nce",
        augment=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_examples = check_int(num_examples, "num_examples", minimum=2)
        self.embedding_dim = check_int(embedding_dim, "embedding_dim")
        self.temperature = check_number(
            temperature, "temperature", minimum=0, exclusive_minimum=True
        )
        self.num_negatives = check_int(num_negatives, "num_negatives")
        self.momentum = check_number(momentum, "momentum", 0.0, 1.0)
        self.nce_kind = check_choice(nce_kind, "nce_kind", NCE_KINDS)
        self.augment = check_bool(augment, "augment")
        self.seed = seed
        self.encoder = encoder
        self.pooling, self.feature_dim = vector_pooling(encoder)
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        if len(self.image_shape) != 3 or None in self.image_shape:
            raise ValueError(
                "encoder must take images of a known size (H, W, C). "
                f"Received: encoder input shape={self.image_shape}"
            )
        self.projection = keras.layers.Dense(self.embedding_dim, name="projection")
        self.projection.build((None, self.feature_dim))
        self.augmentation = None
        if self.augment:
            self.augmentation = _augmentation(self.image_shape[-1], seed)
            self.augmentation.build((None,) + self.image_shape)
        self.memory_bank = MemoryBank(
            self.num_examples,
            self.embedding_dim,
            momentum=self.momentum,
            seed=seed,
            name="memory_bank",
        )
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("nce_loss", "positive_similarity")
        }
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, optimizer=None, **kwargs):
        """Configure training; `optimizer` defaults to the paper's SGD.

        SGD with momentum 0.9, learning rate 0.03 and weight decay 5e-4
        (the paper's CIFAR schedule multiplies the rate by 0.1 late in
        training; pass a schedule for that).
        """
        if optimizer is None:
            optimizer = keras.optimizers.SGD(0.03, momentum=0.9, weight_decay=5e-4)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        self.optimizer.build(self.trainable_variables)

    # ------------------------------------------------------------------ network
    def embed(self, images, training=False):
        """L2-normalised embeddings (B, embedding_dim) of images in [-1, 1]."""
        features = self.pooling(self.encoder(images, training=training))
        return l2_normalize(self.projection(features))

    def call(self, inputs, training=False):
        return self.embed(self._unpack(inputs)[0], training=training)

    def features(self, images, training=False):
        """Pooled encoder features (B, D)."""
        return self.pooling(self.encoder(images, training=training))

    # ------------------------------------------------------------------- losses
    def nce_loss(self, embeddings, indices, negative_indices):
        """Mean NCE of embeddings (B, D) against their bank rows and noise rows."""
        return memory_bank_nce_loss(
            embeddings,
            self.memory_bank,
            indices,
            negative_indices,
            temperature=self.temperature,
            kind=self.nce_kind,
        )

    def negative_indices(self, batch):
        """Noise rows (batch, num_negatives), this replica's share of a global draw."""
        return replica_share(
            lambda n: self.memory_bank.sample_indices((n, self.num_negatives)), batch
        )

    # ----------------------------------------------------------------- steps
    def _unpack(self, data):
        indices = None
        if isinstance(data, list | tuple) and len(data) == 1:
            # `fit(x=(images, indices))` arrives as a 1-tuple of x.
            data = data[0]
        if isinstance(data, dict):
            images, indices = data["images"], data.get("indices")
        elif isinstance(data, list | tuple):
            images = data[0]
            if len(data) > 1:
                indices = data[-1]
        else:
            images = data
        images = ops.reshape(ops.cast(images, "float32"), (-1,) + self.image_shape)
        if indices is not None:
            indices = ops.cast(ops.reshape(indices, (-1,)), "int32")
        return images, indices

    def _indices(self, data):
        images, indices = self._unpack(data)
        if indices is None:
            raise ValueError(
                "InstanceDiscrimination trains on batches of (images, indices), "
                "(images, labels, indices) or {'images', 'indices'}: the memory "
                "bank needs each example's index; see "
                "keras_ssl.methods.rotation_decoupling.indexed_dataset. "
                "Received: images only"
            )
        return images, indices

    @backend_step.stateless_on_jax
    def train_step(self, data):
        # `backend_step`: a tf.GradientTape on TensorFlow; on JAX, Keras'
        # `train_step(state, data)` with jax.value_and_grad, the bank update
        # and the seed generators' draws returned in the state.
        images, indices = self._indices(data)
        if self.augmentation is not None:
            images = self.augmentation(images, training=True)
        replicas = num_replicas()
        negative_indices = self.negative_indices(ops.shape(images)[0])

        def scaled_loss():
            embeddings = self.embed(images, training=True)
            loss = self.nce_loss(embeddings, indices, negative_indices)
            total = loss + ops.sum(self.losses) if self.losses else loss
            return self.optimizer.scale_loss(total / replicas), (loss, embeddings)

        variables = self.trainable_variables
        _, (loss, embeddings), gradients = backend_step.value_and_gradients(
            scaled_loss, variables
        )
        backend_step.apply_gradients(self.optimizer, gradients, variables)
        embeddings = ops.stop_gradient(embeddings)
        similarity = ops.mean(ops.sum(embeddings * self.memory_bank(indices), axis=-1))
        # Every replica applies the update of the whole global batch, so
        # each copy of the bank learns every replica's rows.
        self.memory_bank.update(*gather_replicas(embeddings, indices))
        return self._record({"nce_loss": loss, "positive_similarity": similarity})

    @backend_step.stateless_on_jax
    def test_step(self, data):
        images, indices = self._indices(data)
        embeddings = self.embed(images, training=False)
        negative_indices = self.negative_indices(ops.shape(images)[0])
        loss = self.nce_loss(embeddings, indices, negative_indices)
        similarity = ops.mean(ops.sum(embeddings * self.memory_bank(indices), axis=-1))
        return self._record({"nce_loss": loss, "positive_similarity": similarity})

    def _record(self, logs):
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    # ---------------------------------------------------------------- evaluation
    def embed_images(self, images, batch_size=256):
        """Embeddings (N, embedding_dim) of uint8 or [-1, 1] float images."""
        images = _float_images(images)
        chunks = [
            np.asarray(self.embed(images[i : i + batch_size], training=False))
            for i in range(0, len(images), batch_size)
        ]
        return (
            np.concatenate(chunks)
            if chunks
            else np.zeros((0, self.embedding_dim), "float32")
        )

    def knn_accuracy(
        self, train_data, test_data, k=200, temperature=0.1, batch_size=256
    ):
        """Weighted kNN top-1 accuracy of the embeddings (the paper's evaluation).

        Args:
            train_data: the labelled neighbours: `(images, labels)` arrays,
                a dataset of `(images, labels)` batches, or `("bank",
                labels)` to use the memory bank's rows as the neighbours'
                embeddings (the paper's monitor during training), with
                `labels` (num_examples,) in index order.
            test_data: `(images, labels)` arrays or a dataset of them.
            k: neighbours (200).
            temperature: vote temperature (0.1, the paper's CIFAR code).
            batch_size: images per encoder call.

        Returns:
            Top-1 accuracy in [0, 1].
        """
        if isinstance(train_data, tuple) and isinstance(train_data[0], str):
            if train_data[0] != "bank":
                raise ValueError(
                    "train_data must be (images, labels), a dataset of them or "
                    f"('bank', labels). Received: ({train_data[0]!r}, ...)"
                )
            train_data = (np.asarray(self.memory_bank.bank), np.asarray(train_data[1]))
        else:
            train_data = self._embedded(train_data, batch_size)
        from keras_ssl.evaluation.representation import knn_accuracy as knn_accuracy_of

        return knn_accuracy_of(
            None,
            train_data,
            self._embedded(test_data, batch_size),
            k=k,
            temperature=temperature,
            batch_size=batch_size,
        )

    def _embedded(self, data, batch_size):
        """`(embeddings, labels)` of `(images, labels)` arrays or a dataset."""
        if isinstance(data, tuple | list):
            return self.embed_images(data[0], batch_size), np.asarray(data[1])
        embeddings, labels = [], []
        for element in data:
            if not isinstance(element, tuple | list) or len(element) < 2:
                raise ValueError(
                    "A kNN dataset must yield (images, labels) batches. "
                    f"Received: an element of type {type(element).__name__}"
                )
            embeddings.append(self.embed_images(np.asarray(element[0]), batch_size))
            labels.append(np.asarray(element[1]))
        return np.concatenate(embeddings), np.concatenate(labels)

    def preview(self, images):
        """Columns for a sample sheet: input | nearest | second nearest (uint8).

        Each image's two most similar other images among `images`, by
        cosine of the embeddings.
        """
        floats = _float_images(images)
        if len(floats) < 3:
            raise ValueError(
                f"preview needs at least 3 images. Received: {len(floats)}"
            )
        embeddings = self.embed_images(floats)
        similarity = embeddings @ embeddings.T
        np.fill_diagonal(similarity, -np.inf)
        order = np.argsort(-similarity, axis=1)
        pictures = _uint8_images(floats)
        return [pictures, pictures[order[:, 0]], pictures[order[:, 1]]]

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "num_examples": self.num_examples,
                "embedding_dim": self.embedding_dim,
                "temperature": self.temperature,
                "num_negatives": self.num_negatives,
                "momentum": self.momentum,
                "nce_kind": self.nce_kind,
                "augment": self.augment,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


class KNNMonitor(keras.callbacks.Callback):
    """Adds the weighted-kNN accuracy of held-out images to `fit`'s logs.

    Every `every` epochs (and after the last), the embeddings of
    `train_data` images are the labelled neighbours of the `test_data`
    images (`InstanceDiscrimination.knn_accuracy`); the value is written as
    `knn_accuracy` into the epoch logs (NaN on other epochs, so CSV rows
    keep their columns). List it before loggers in `callbacks=[...]`.

    Args:
        train_data: `(images, labels)` arrays of the neighbours.
        test_data: `(images, labels)` arrays of the queries.
        k: neighbours (200, at most the number of training images).
        every: epochs between evaluations.

    Example:

    >>> import numpy as np
    >>> data = (np.zeros((4, 8, 8, 3), "float32"), np.arange(4))
    >>> KNNMonitor(data, data, k=2).k
    2
    """

    def __init__(self, train_data, test_data, k=200, every=1, temperature=0.1):
        super().__init__()
        self.train_data = train_data
        self.test_data = test_data
        self.k = check_int(k, "k")
        self.every = check_int(every, "every")
        self.temperature = temperature
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        value = float("nan")
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every == 0 or (last is not None and epoch + 1 == last):
            value = self.model.knn_accuracy(
                self.train_data, self.test_data, k=self.k, temperature=self.temperature
            )
            self.history.append((epoch + 1, value))
        if logs is not None:
            logs["knn_accuracy"] = value


@register_method("instance_discrimination")
def build_instance_discrimination(
    image_size=32,
    channels=3,
    num_examples=50000,
    encoder="resnet18",
    encoder_config=None,
    embedding_dim=128,
    temperature=0.07,
    num_negatives=4096,
    momentum=0.5,
    nce_kind="nce",
    augment=True,
    seed=None,
):
    """`InstanceDiscrimination` with the paper's CIFAR ResNet-18 (or `encoder`).

    Args:
        image_size: side of the square input images.
        channels: image channels.
        num_examples: training-set size (memory-bank rows; 50000 for CIFAR).
        encoder: an encoder name (`"resnet18"`, `"nin"`, `"alexnet"`, ...) or
            a `keras.Model`; see `keras_ssl.architectures.build_encoder`.
        encoder_config: keyword arguments of the named encoder's builder.
        embedding_dim, temperature, num_negatives, momentum, nce_kind,
            augment, seed: see `InstanceDiscrimination`.

    Example:

    >>> model = build_instance_discrimination(
    ...     32, num_examples=100, encoder="nin",
    ...     encoder_config={"width": 8, "num_blocks": 3})
    >>> tuple(model.memory_bank.bank.shape)
    (100, 128)
    """
    encoder = build_encoder(encoder, (image_size, image_size, channels), encoder_config)
    return InstanceDiscrimination(
        encoder,
        num_examples=num_examples,
        embedding_dim=embedding_dim,
        temperature=temperature,
        num_negatives=num_negatives,
        momentum=momentum,
        nce_kind=nce_kind,
        augment=augment,
        seed=seed,
        name="instance_discrimination",
    )
