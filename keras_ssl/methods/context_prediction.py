"""Context prediction: the relative position of patches of an image.

Reference: Doersch, Gupta & Efros, "Unsupervised Visual Representation
Learning by Context Prediction", ICCV 2015; colour countermeasures also in
Mundhenk, Ho & Chen, "Improvements to Context Based Self-Supervised
Learning", CVPR 2018.

For each image a centre patch c and one of its eight neighbours n_k
(k = 0..7, reading order) are cut with a gap between them and random jitter
(`keras_ssl.ops.context_patch_sets`), a shared (siamese) encoder f embeds
both, a shared fully-connected layer g maps each embedding, and a classifier
h on the concatenation predicts k:

    L = -1/B sum_b log softmax(h([g(f(c_b)), g(f(n_{b,k_b}))]))_{k_b}

Chromatic aberration lets a network locate a patch from colour fringes alone,
so each patch goes through a countermeasure: `"project"` removes the
green-magenta axis (`keras_ssl.ops.project_color`), `"drop"` keeps one random
colour channel and replaces the others by weak noise
(`keras_ssl.ops.drop_color_channels`), None does nothing.

Improvements of Mundhenk et al. (2018), each an option (off by default, so
that the default is Doersch et al.'s task), with the paper's setting when on:

- `chroma_blur=13` blurs the a and b channels of CIE Lab with a 13x13
  window before the patches are cut, keeping L (`keras_ssl.ops.chroma_blur`);
- `yoked_jitter=True` moves all patches of an image by one random shift;
- `configurations="triples"`: three patches per image in one of 20
  configurations of the 3x3 grid, a 20-way label
  (`keras_ssl.ops.TRIPLE_CONFIGURATIONS`, which states which of them follow
  the authors' code and which are reconstructed); the default `"pairs"` is
  Doersch et al.'s centre and one of 8 neighbours;
- `random_aperture=2/3`: every patch of a set but one (chosen at random) is
  seen through one square window whose side is uniform in [2/3, 1] of the
  patch side, at a random position; outside is mid-grey
  (`keras_ssl.ops.random_aperture`; the authors' 64-96 of 96 pixels);
- `rotation=True` (rotation with classification): all patches of a set are
  rotated by one random multiple of 90 degrees and the classifier predicts
  configuration and rotation jointly, label = configuration + number of
  configurations * rotation (the authors' single 80-way softmax for 20
  configurations; no separate head).

Not implemented: the authors' random left-right mirroring with relabelling
and their random rescaling of the patches before cropping.

Defaults vs the paper: the paper cuts 96-pixel patches with a 48-pixel gap
and up to 7 pixels of jitter from ImageNet images; `build_context_prediction`
scales this to the image: patch = size // 4, gap = size // 16,
jitter = size // 32 (8, 2 and 1 pixels for 32-pixel images). The paper's
fc6-fc7-fc8 head becomes `patch_units` per patch and one hidden layer of
`hidden_units`; one pair per image is sampled (as in the paper). The default
countermeasure is projection. Optimizer default: Adam 1e-3.
"""

import keras
from keras import ops

from keras_ssl.architectures.encoders import check_encoder_input
from keras_ssl.methods.pretext_task import (
    PretextTask,
    build_part_encoder,
    encoder_channels,
    image_size_pair,
)
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.context_sets import (
    context_patch_sets,
    patch_configurations,
    random_aperture,
    rotate_patch_sets,
)
from keras_ssl.ops.patches import (
    check_context_layout,
    chroma_blur,
    drop_color_channels,
    project_color,
)
from keras_ssl.utils.validation import check_bool

_COUNTERMEASURES = ("project", "drop", None)


@keras.saving.register_keras_serializable(package="keras_ssl")
class ContextPrediction(PretextTask):
    """Relative-position prediction (Doersch et al. 2015) around any encoder.

    Args:
        encoder: a `keras.Model` from patches (B, p, p, C) in [-1, 1] to a
            feature map or vector, shared by all patches; exposed as
            `.encoder`.
        image_size: side (or (height, width)) of the input images.
        patch_size: side p of each patch.
        gap: minimum pixels between the centre patch and its neighbours.
        jitter: maximum random shift of each patch.
        chromatic: colour countermeasure, `"project"`, `"drop"` or None.
        patch_units: width of the shared per-patch fully-connected layer.
        hidden_units: width of the layer on the concatenated patch set.
        seed: seed of the random positions, jitter and channel dropping.
        chroma_blur: None, or the odd window side of Mundhenk et al. (2018)'s
            chroma blurring (13 in their paper): the a and b channels of CIE
            Lab are box-blurred before the patches are cut, L is kept
            (`keras_ssl.ops.chroma_blur`).
        yoked_jitter: Mundhenk et al.'s yoked jitter: one random shift per
            image moves all its patches together (False: one shift per
            patch, Doersch et al.; paper: True).
        configurations: `"pairs"` (Doersch et al.: centre and one of 8
            neighbours, 8 classes) or `"triples"` (Mundhenk et al.: three
            patches in 20 configurations; paper: `"triples"`).
        random_aperture: None, or the smallest window side as a fraction of
            the patch side of Mundhenk et al.'s random aperture (paper: 2/3).
        rotation: Mundhenk et al.'s rotation with classification: each set
            rotated by a random multiple of 90 degrees, predicted jointly
            with the configuration (paper: True).
        **kwargs: `keras.Model` arguments.

    `call(images)` returns (B, num_classes) logits of deterministic sets:
    centred layout, image `b` given class `b % num_classes` (configuration
    and rotation), projection (if `chromatic` is set) but no random channel
    dropping and no aperture. `num_classes` is the number of configurations
    (8 or 20), times 4 with `rotation`.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = ContextPrediction(nin_encoder((8, 8, 3), 3, width=8),
    ...                           image_size=32, patch_size=8, gap=2, jitter=1,
    ...                           patch_units=8, hidden_units=16)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> tuple(model(images[:3]).shape)
    (3, 8)
    """

    def __init__(
        self,
        encoder,
        image_size=32,
        patch_size=8,
        gap=2,
        jitter=1,
        chromatic="project",
        patch_units=256,
        hidden_units=512,
        seed=None,
        chroma_blur=None,
        yoked_jitter=False,
        configurations="pairs",
        random_aperture=None,
        rotation=False,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        self.configurations = configurations
        self.configuration_table = patch_configurations(configurations)
        if random_aperture is not None and (
            isinstance(random_aperture, bool)
            or not isinstance(random_aperture, int | float)
            or not 0 < random_aperture <= 1
        ):
            raise ValueError(
                "random_aperture must be None or a number in (0, 1] (2/3 in "
                f"Mundhenk et al.). Received: random_aperture={random_aperture!r}"
            )
        self.random_aperture = random_aperture
        self.rotation = check_bool(rotation, "rotation")
        self.num_configurations = len(self.configuration_table)
        self.num_patches = len(self.configuration_table[0])
        self.num_classes = self.num_configurations * (4 if self.rotation else 1)
        if chroma_blur is not None and (
            not isinstance(chroma_blur, int) or chroma_blur < 1 or chroma_blur % 2 == 0
        ):
            raise ValueError(
                "chroma_blur must be None or an odd int >= 1 (13 in Mundhenk et "
                f"al.). Received: chroma_blur={chroma_blur!r}"
            )
        self.chroma_blur = chroma_blur
        self.yoked_jitter = bool(yoked_jitter)
        self.image_size = image_size_pair(image_size)
        check_context_layout(self.image_size, patch_size, gap, jitter)
        if chromatic not in _COUNTERMEASURES:
            raise ValueError(
                f"chromatic must be one of {_COUNTERMEASURES}. "
                f"Received: chromatic={chromatic!r}"
            )
        self.patch_size = patch_size
        self.gap = gap
        self.jitter = jitter
        self.chromatic = chromatic
        self.patch_units = patch_units
        self.hidden_units = hidden_units
        self.seed = seed
        self.channels = encoder_channels(encoder)
        self.image_shape = self.image_size + (self.channels,)
        if chromatic is not None and self.channels != 3:
            raise ValueError(
                "chromatic countermeasures need RGB patches (3 channels); use "
                f"chromatic=None. Received: chromatic={chromatic!r}, "
                f"channels={self.channels}"
            )
        check_encoder_input(encoder, (patch_size, patch_size, self.channels))
        self.patch_dense = keras.layers.Dense(
            patch_units, activation="relu", name="patch_dense"
        )
        self.patch_dense.build((None, self.feature_dim))
        self.hidden_dense = keras.layers.Dense(
            hidden_units, activation="relu", name="hidden_dense"
        )
        self.hidden_dense.build((None, self.num_patches * patch_units))
        self.classifier = keras.layers.Dense(self.num_classes, name="classifier")
        self.classifier.build((None, hidden_units))
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _countermeasure(self, patches, training):
        if self.chromatic == "project":
            return project_color(patches)
        if self.chromatic == "drop" and training:
            return drop_color_channels(patches, seed=self.seed_generator)
        return patches

    def patch_sets(self, images, training=False):
        """`(patches, labels)`: (B, K, p, p, C) patch sets and their classes.

        With `training`, classes, layout, jitter, aperture and channel
        dropping are random; otherwise they are the deterministic sets of
        `call`. A class is `configuration + num_configurations * rotation`.
        """
        if self.chroma_blur is not None:
            images = chroma_blur(images, self.chroma_blur)
        batch = ops.shape(images)[0]
        if training:
            labels = keras.random.randint(
                (batch,), 0, self.num_classes, dtype="int32", seed=self.seed_generator
            )
        else:
            labels = ops.arange(batch, dtype="int32") % self.num_classes
        patches, _ = context_patch_sets(
            images,
            self.configuration_table,
            self.patch_size,
            self.gap,
            self.jitter,
            labels=labels % self.num_configurations,
            random=training,
            seed=self.seed_generator,
            yoked=self.yoked_jitter,
        )
        if training and self.random_aperture is not None:
            patches = random_aperture(
                patches, self.random_aperture, seed=self.seed_generator
            )
        if self.rotation:
            patches = rotate_patch_sets(patches, labels // self.num_configurations)
        shape = ops.shape(patches)
        flat = ops.reshape(patches, (-1,) + tuple(patches.shape[2:]))
        flat = self._countermeasure(flat, training)
        return ops.reshape(flat, shape), labels

    def pairs(self, images, training=False):
        """`(centre, neighbour, labels)` of `patch_sets` for `"pairs"`."""
        patches, labels = self.patch_sets(images, training=training)
        return patches[:, 0], patches[:, 1], labels

    def set_logits(self, patches, training=False):
        """Class logits (B, num_classes) of patch sets (B, K, p, p, C)."""
        shape = tuple(patches.shape)
        flat = ops.reshape(patches, (-1,) + shape[2:])
        features = self.patch_dense(self.pooling(self.encoder(flat, training=training)))
        joint = ops.reshape(features, (-1, self.num_patches * self.patch_units))
        return self.classifier(self.hidden_dense(joint))

    def call(self, inputs, training=False):
        patches, _ = self.patch_sets(self.batch_images(inputs))
        return self.set_logits(patches, training=training)

    def pretext_logs(self, images, training=False):
        """Set-class cross-entropy and accuracy (chance 1 / num_classes)."""
        patches, labels = self.patch_sets(images, training=training)
        logits = self.set_logits(patches, training=training)
        return {
            "pretext_loss": self.pretext_loss(logits, labels),
            "pretext_accuracy": self.pretext_accuracy(logits, labels),
        }

    @property
    def chance_accuracy(self):
        """1 / num_classes (1/8 for Doersch et al.'s pairs)."""
        return 1.0 / self.num_classes

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": list(self.image_size),
                "patch_size": self.patch_size,
                "gap": self.gap,
                "jitter": self.jitter,
                "chromatic": self.chromatic,
                "patch_units": self.patch_units,
                "hidden_units": self.hidden_units,
                "seed": self.seed,
                "chroma_blur": self.chroma_blur,
                "yoked_jitter": self.yoked_jitter,
                "configurations": self.configurations,
                "random_aperture": self.random_aperture,
                "rotation": self.rotation,
            }
        )
        return config


@register_method("context_prediction")
def build_context_prediction(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    patch_size=None,
    gap=None,
    jitter=None,
    chromatic="project",
    patch_units=256,
    hidden_units=512,
    seed=None,
    chroma_blur=None,
    yoked_jitter=False,
    configurations="pairs",
    random_aperture=None,
    rotation=False,
):
    """A ContextPrediction model whose patch encoder fits the patch size.

    `patch_size`, `gap` and `jitter` default to size // 4, size // 16 and
    size // 32 of the smaller image side. `encoder` is a name (`"nin"`,
    `"alexnet"`, `"resnet18"`, ...; built with `encoder_config` for inputs of
    any size, so that `.encoder` embeds patches during training and whole
    images afterwards; the default NIN has 3 blocks of width 64) or a
    `keras.Model` taking (p, p, channels) patches. Other arguments as in
    `ContextPrediction`; `chromatic` is forced to None for non-RGB images.

    Example:

    >>> model = build_context_prediction(32, encoder_config={"width": 8,
    ...                                                       "num_blocks": 3})
    >>> model.patch_size, model.gap, model.jitter
    (8, 2, 1)
    """
    size = image_size_pair(image_size)
    side = min(size)
    patch_size = side // 4 if patch_size is None else patch_size
    gap = side // 16 if gap is None else gap
    jitter = side // 32 if jitter is None else jitter
    check_context_layout(size, patch_size, gap, jitter)
    if channels != 3:
        chromatic = None
    encoder = build_part_encoder(encoder, patch_size, channels, encoder_config)
    return ContextPrediction(
        encoder,
        image_size=size,
        patch_size=patch_size,
        gap=gap,
        jitter=jitter,
        chromatic=chromatic,
        patch_units=patch_units,
        hidden_units=hidden_units,
        seed=seed,
        chroma_blur=chroma_blur,
        yoked_jitter=yoked_jitter,
        configurations=configurations,
        random_aperture=random_aperture,
        rotation=rotation,
        name="context_prediction",
    )
