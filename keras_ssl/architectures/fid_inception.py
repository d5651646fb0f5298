"""The FID Inception network: the 2015-12-05 TensorFlow Inception graph.

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", NeurIPS 2017, compute the FID in the 2048-d `pool_3`
features of the Inception graph released by TensorFlow on 2015-12-05
(`inception-2015-12-05.tgz`); Salimans et al. 2016 compute the Inception
Score from its 1008 logits. Every published FID table (TTUR, compare_gan,
Mimicry, StudioGAN, clean-fid) uses this network, mostly through
pytorch-fid's port (`pytorch_fid.inception.fid_inception_v3`), which this
module reproduces layer for layer:

- the FID-specific Inception blocks (pytorch-fid's `FIDInceptionA`, `C`,
  `E_1`, `E_2`): the 3x3 average pools of the pool branches do not count
  the zero padding (Keras' `'same'` average pool), and the pool branch of
  the last block (`Mixed_7c`) is a 3x3 max pool;
- every convolution is conv (no bias) -> batch norm (epsilon 1e-3) -> ReLU;
  stride-2 convolutions and `Conv2d_2a_3x3` / `Conv2d_4a_3x3` are unpadded;
- 1008 logits (`fc`) on the 2048-d global average (`pool3`).

Keras' `keras.applications.InceptionV3` is a different network (other
weights, 1000 classes, average pools that count the padding); its FIDs are
not comparable with published ones.

Layer names are pytorch-fid's state-dict prefixes (`Mixed_5b.branch1x1.conv`,
`Mixed_5b.branch1x1.bn`, `fc`), so `keras_ssl.convert` maps the released
weights by name (format `"pytorch_fid_inception"`).
"""

import keras

from keras_ssl.utils.validation import check_bool

FID_INCEPTION_SIZE = 299
FID_INCEPTION_CLASSES = 1008
FID_INCEPTION_FEATURES = 2048
# The outputs of pytorch-fid's `InceptionV3` blocks 0, 1 and 2 (block 3 is
# `pool3`); spatially averaged they are the `--dims 64 / 192 / 768` features.
BLOCK_LAYERS = ("block0_pool", "block1_pool", "Mixed_6e")


def _conv(x, name, filters, kernel, strides=1, padding="same"):
    """pytorch-fid's `BasicConv2d`: conv (no bias) -> BN(eps=1e-3) -> ReLU."""
    x = keras.layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=False,
        name=f"{name}.conv",
    )(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3, name=f"{name}.bn")(x)
    return keras.layers.ReLU(name=f"{name}.relu")(x)


def _avg_pool(x, name):
    # TF's 'same' average pool divides by the number of in-image values
    # (PyTorch's count_include_pad=False), as the 2015 graph does.
    return keras.layers.AveragePooling2D(3, 1, padding="same", name=name)(x)


def _block_a(x, name, pool_features):
    """Inception-A (`FIDInceptionA`), 35x35."""
    b1 = _conv(x, f"{name}.branch1x1", 64, 1)
    b5 = _conv(x, f"{name}.branch5x5_1", 48, 1)
    b5 = _conv(b5, f"{name}.branch5x5_2", 64, 5)
    b3 = _conv(x, f"{name}.branch3x3dbl_1", 64, 1)
    b3 = _conv(b3, f"{name}.branch3x3dbl_2", 96, 3)
    b3 = _conv(b3, f"{name}.branch3x3dbl_3", 96, 3)
    bp = _avg_pool(x, f"{name}.avg_pool")
    bp = _conv(bp, f"{name}.branch_pool", pool_features, 1)
    return keras.layers.Concatenate(name=name)([b1, b5, b3, bp])


def _block_b(x, name):
    """Grid reduction 35 -> 17 (`Mixed_6a`, torchvision's `InceptionB`)."""
    b3 = _conv(x, f"{name}.branch3x3", 384, 3, strides=2, padding="valid")
    bd = _conv(x, f"{name}.branch3x3dbl_1", 64, 1)
    bd = _conv(bd, f"{name}.branch3x3dbl_2", 96, 3)
    bd = _conv(bd, f"{name}.branch3x3dbl_3", 96, 3, strides=2, padding="valid")
    bp = keras.layers.MaxPooling2D(3, 2, name=f"{name}.max_pool")(x)
    return keras.layers.Concatenate(name=name)([b3, bd, bp])


def _block_c(x, name, channels_7x7):
    """Inception-C (`FIDInceptionC`), 17x17 with factorised 7x7."""
    c = channels_7x7
    b1 = _conv(x, f"{name}.branch1x1", 192, 1)
    b7 = _conv(x, f"{name}.branch7x7_1", c, 1)
    b7 = _conv(b7, f"{name}.branch7x7_2", c, (1, 7))
    b7 = _conv(b7, f"{name}.branch7x7_3", 192, (7, 1))
    bd = _conv(x, f"{name}.branch7x7dbl_1", c, 1)
    bd = _conv(bd, f"{name}.branch7x7dbl_2", c, (7, 1))
    bd = _conv(bd, f"{name}.branch7x7dbl_3", c, (1, 7))
    bd = _conv(bd, f"{name}.branch7x7dbl_4", c, (7, 1))
    bd = _conv(bd, f"{name}.branch7x7dbl_5", 192, (1, 7))
    bp = _avg_pool(x, f"{name}.avg_pool")
    bp = _conv(bp, f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=name)([b1, b7, bd, bp])


def _block_d(x, name):
    """Grid reduction 17 -> 8 (`Mixed_7a`, torchvision's `InceptionD`)."""
    b3 = _conv(x, f"{name}.branch3x3_1", 192, 1)
    b3 = _conv(b3, f"{name}.branch3x3_2", 320, 3, strides=2, padding="valid")
    b7 = _conv(x, f"{name}.branch7x7x3_1", 192, 1)
    b7 = _conv(b7, f"{name}.branch7x7x3_2", 192, (1, 7))
    b7 = _conv(b7, f"{name}.branch7x7x3_3", 192, (7, 1))
    b7 = _conv(b7, f"{name}.branch7x7x3_4", 192, 3, strides=2, padding="valid")
    bp = keras.layers.MaxPooling2D(3, 2, name=f"{name}.max_pool")(x)
    return keras.layers.Concatenate(name=name)([b3, b7, bp])


def _block_e(x, name, max_pool):
    """Inception-E (`FIDInceptionE_1`, or `E_2` with the max pool), 8x8."""
    b1 = _conv(x, f"{name}.branch1x1", 320, 1)
    b3 = _conv(x, f"{name}.branch3x3_1", 384, 1)
    b3a = _conv(b3, f"{name}.branch3x3_2a", 384, (1, 3))
    b3b = _conv(b3, f"{name}.branch3x3_2b", 384, (3, 1))
    bd = _conv(x, f"{name}.branch3x3dbl_1", 448, 1)
    bd = _conv(bd, f"{name}.branch3x3dbl_2", 384, 3)
    bda = _conv(bd, f"{name}.branch3x3dbl_3a", 384, (1, 3))
    bdb = _conv(bd, f"{name}.branch3x3dbl_3b", 384, (3, 1))
    if max_pool:
        # The 2015 graph's last block max-pools (a bug kept for comparability).
        bp = keras.layers.MaxPooling2D(3, 1, padding="same", name=f"{name}.max_pool")(x)
    else:
        bp = _avg_pool(x, f"{name}.avg_pool")
    bp = _conv(bp, f"{name}.branch_pool", 192, 1)
    return keras.layers.Concatenate(name=name)([b1, b3a, b3b, bda, bdb, bp])


def fid_inception_v3(resize_input=True, name="fid_inception_v3"):
    """The FID Inception network (pytorch-fid's `fid_inception_v3`) in Keras.

    Input convention: float images (B, H, W, 3) in [-1, 1], our public
    convention (`uint8` images k map to k / 127.5 - 1). pytorch-fid feeds
    x in [0, 1], resizes to 299x299 and then maps to 2x - 1; bilinear
    resizing commutes with that affine map, so resizing our [-1, 1] images
    gives the same network input. With `resize_input`, any H x W is resized
    to 299x299 with half-pixel bilinear interpolation and no antialiasing
    (`F.interpolate(..., mode="bilinear", align_corners=False)`; an
    identity for 299x299 inputs).

    Outputs a dict: `"features"`, the 2048-d `pool3` global average that
    FID and KID use, and `"logits"`, the 1008 logits (before the softmax)
    of the Inception Score. The intermediate maps of pytorch-fid's output
    blocks 0, 1 and 2 are the outputs of the layers named in
    `BLOCK_LAYERS` (73x73x64, 35x35x192, 17x17x768 for a 299 input).

    23,850,960 trainable parameters, plus the 34,432 batch-norm moving
    statistics. The weights are random: load the released ones with
    `keras_ssl.convert.convert("pytorch_fid_inception", path, model)` or use
    `keras_ssl.evaluation.fid_inception_extractor()`.

    Args:
        resize_input: resize inputs of any size to 299x299 inside the
            model. False: the input must be 299x299.
        name: model name.

    Returns:
        A functional Keras model `images -> {"features", "logits"}`.

    Example:

    >>> # Skipped in the test run: 24M weights take seconds to initialise.
    >>> model = fid_inception_v3()  # doctest: +SKIP
    >>> model.count_params() - 34432  # doctest: +SKIP
    23850960
    >>> {k: tuple(out.shape) for k, out in model.output.items()}  # doctest: +SKIP
    {'features': (None, 2048), 'logits': (None, 1008)}
    """
    check_bool(resize_input, "resize_input", context="fid_inception_v3")
    size = FID_INCEPTION_SIZE
    shape = (None, None, 3) if resize_input else (size, size, 3)
    inputs = keras.Input(shape=shape, name="images")
    x = inputs
    if resize_input:
        x = keras.layers.Resizing(
            size, size, interpolation="bilinear", antialias=False, name="resize"
        )(x)
    # Block 0: 299 -> 73.
    x = _conv(x, "Conv2d_1a_3x3", 32, 3, strides=2, padding="valid")
    x = _conv(x, "Conv2d_2a_3x3", 32, 3, padding="valid")
    x = _conv(x, "Conv2d_2b_3x3", 64, 3)
    x = keras.layers.MaxPooling2D(3, 2, name=BLOCK_LAYERS[0])(x)
    # Block 1: 73 -> 35.
    x = _conv(x, "Conv2d_3b_1x1", 80, 1)
    x = _conv(x, "Conv2d_4a_3x3", 192, 3, padding="valid")
    x = keras.layers.MaxPooling2D(3, 2, name=BLOCK_LAYERS[1])(x)
    # Block 2: 35 -> 17.
    x = _block_a(x, "Mixed_5b", 32)
    x = _block_a(x, "Mixed_5c", 64)
    x = _block_a(x, "Mixed_5d", 64)
    x = _block_b(x, "Mixed_6a")
    x = _block_c(x, "Mixed_6b", 128)
    x = _block_c(x, "Mixed_6c", 160)
    x = _block_c(x, "Mixed_6d", 160)
    x = _block_c(x, "Mixed_6e", 192)
    # Block 3: 17 -> 8 -> pool3.
    x = _block_d(x, "Mixed_7a")
    x = _block_e(x, "Mixed_7b", max_pool=False)
    x = _block_e(x, "Mixed_7c", max_pool=True)
    features = keras.layers.GlobalAveragePooling2D(name="pool3")(x)
    logits = keras.layers.Dense(FID_INCEPTION_CLASSES, name="fc")(features)
    return keras.Model(inputs, {"features": features, "logits": logits}, name=name)
