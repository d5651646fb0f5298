"""SavedModel export in the TF Serving layout.

`export_saved_model` writes `export_dir/<version>/` with one
`serving_default` signature whose inputs and outputs are what a client
naturally has and wants:

- generators: `noise` float32 (B, latent_dim) [and `labels` int32 (B,) for
  class-conditional ones] -> `images` uint8 (B, H, W, C);
- encoders: `images` uint8 (B, H, W, C) -> `features` float32 (B, D),
  spatial feature maps averaged over their positions;
- classifiers: `images` uint8 (B, H, W, C) -> `probabilities` float32 (B, K)
  and `classes` int64 (B,).

Inside the graph images are mapped to and from the [-1, 1] range the models
use, and every input is checked against the expected shape with an error
that names it, so a malformed request fails loudly instead of broadcasting.
The export needs TensorFlow only to load (`tf.saved_model.load`), never
`keras_ssl`.
"""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from keras_ssl.export.warmup import write_warmup_requests
from keras_ssl.utils.validation import check_int

SIGNATURES = ("auto", "generator", "encoder", "classifier")


def export_saved_model(
    model,
    export_dir,
    version=1,
    signature="auto",
    model_name="model",
    warmup_batch_size=2,
    overwrite=False,
):
    """Export a generator, encoder or classifier for TF Serving.

    Args:
        model: a `keras.Model`. A method model is accepted too: its
            generator (the EMA generator when it keeps one, as `generate`
            does) or, failing that, its `.encoder` is exported.
        export_dir: the model base path TF Serving watches; the SavedModel is
            written to `export_dir/<version>/`.
        version: positive integer version folder.
        signature: `"generator"`, `"encoder"`, `"classifier"`, or `"auto"`
            (a method model's generator, else its encoder; a plain model with
            a noise input is a generator, one with a softmax output a
            classifier, any other image model an encoder).
        model_name: name recorded in the warm-up requests' `model_spec`.
        warmup_batch_size: batch size of the warm-up request written to
            `assets.extra/tf_serving_warmup_requests`; 0 writes none.
        overwrite: replace an existing version folder instead of raising.

    Returns:
        The path of the written version folder.

    Example:

    >>> import tempfile, keras
    >>> inputs = keras.Input((8, 8, 3))
    >>> features = keras.layers.GlobalAveragePooling2D()(
    ...     keras.layers.Conv2D(4, 3)(inputs))
    >>> encoder = keras.Model(inputs, features)
    >>> path = export_saved_model(encoder, tempfile.mkdtemp(), version=1)
    >>> os.path.basename(path)
    '1'
    """
    if signature not in SIGNATURES:
        raise ValueError(
            f"signature must be one of {SIGNATURES}. Received: signature={signature!r}"
        )
    version = check_int(version, "version")
    warmup_batch_size = check_int(warmup_batch_size, "warmup_batch_size", minimum=0)
    kind, network = resolve_servable(model, signature)
    if kind == "generator":
        function, specs = _generator_endpoint(network)
    elif kind == "classifier":
        function, specs = _classifier_endpoint(network)
    else:
        function, specs = _encoder_endpoint(network)

    version_dir = os.path.join(os.fspath(export_dir), str(int(version)))
    if os.path.exists(version_dir):
        if not overwrite:
            raise ValueError(
                f"The export folder already exists: {version_dir}. Pass "
                "overwrite=True or a new version. Received: "
                f"export_dir={export_dir!r}, version={version}"
            )
        shutil.rmtree(version_dir)
    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint("serving_default", function, input_signature=specs)
    archive.write_out(version_dir, verbose=False)
    if warmup_batch_size:
        write_warmup_requests(
            version_dir,
            [_example_inputs(specs, warmup_batch_size)],
            model_name=model_name,
        )
    return version_dir


def resolve_servable(model, signature="auto"):
    """The kind of signature and the network to export for `model`.

    Returns:
        `(kind, network)` with kind one of `"generator"`, `"encoder"`,
        `"classifier"`.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a keras.Model. Received: model of type {type(model)}"
        )
    # GANs that keep an exponential moving average of G sample with it, its
    # batch-norm statistics recomputed from its own weights.
    if callable(getattr(model, "sampling_generator", None)):
        generator = model.sampling_generator()
    else:
        generator = getattr(model, "ema_generator", None) or getattr(
            model, "generator", None
        )
    encoder = getattr(model, "encoder", None)
    if signature == "generator":
        return "generator", generator if isinstance(generator, keras.Model) else model
    if signature == "encoder":
        return "encoder", encoder if isinstance(encoder, keras.Model) else model
    if signature == "classifier":
        return "classifier", model
    if isinstance(generator, keras.Model):
        return "generator", generator
    if isinstance(encoder, keras.Model):
        return "encoder", encoder
    inputs = _model_inputs(model)
    if len(inputs[0].shape) == 2:
        return "generator", model
    if _ends_in_softmax(model):
        return "classifier", model
    return "encoder", model


def _model_inputs(model):
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            "Only models with symbolic inputs (functional or Sequential models, "
            "or subclassed models that have been called on data) can be "
            f"exported. Received: model {model.name!r} without `inputs`."
        )
    return list(inputs)


def _ends_in_softmax(model):
    last = model.layers[-1] if model.layers else None
    if isinstance(last, keras.layers.Softmax):
        return True
    activation = getattr(last, "activation", None)
    return activation is keras.activations.softmax or (
        getattr(activation, "__name__", "") == "softmax"
    )


def _dims(shape):
    return [None if d is None else int(d) for d in shape]


def _check_shape(tensor, expected, name):
    """Graph-time check that `tensor` has `expected` dims (None = any)."""
    expected_text = "(" + ", ".join("batch" if d is None else str(d) for d in expected)
    expected_text += ")"
    message = f"Input `{name}` must have shape {expected_text}."
    checks = [tf.debugging.assert_rank(tensor, len(expected), message=message)]
    with tf.control_dependencies(checks):
        shape = tf.shape(tensor)
        for axis, dim in enumerate(expected):
            if dim is not None:
                checks.append(
                    tf.debugging.assert_equal(shape[axis], dim, message=message)
                )
    with tf.control_dependencies(checks):
        return tf.identity(tensor)


def _to_uint8(images):
    images = tf.convert_to_tensor(images, tf.float32)
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0, 255), tf.uint8)


def _from_uint8(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _single_output(outputs, model):
    flat = keras.tree.flatten(outputs)
    if len(flat) != 1:
        raise ValueError(
            f"Expected a model with one output. Received: model {model.name!r} "
            f"with {len(flat)} outputs."
        )
    return flat[0]


def _generator_endpoint(generator):
    inputs = _model_inputs(generator)
    noise_shape = _dims(inputs[0].shape)
    if len(noise_shape) != 2 or noise_shape[1] is None:
        raise ValueError(
            "A generator's first input must be noise of shape (batch, latent_dim). "
            f"Received: input shape {tuple(inputs[0].shape)}"
        )
    latent_dim = noise_shape[1]
    noise_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="noise")
    if len(inputs) == 1:

        def serve(noise):
            noise = _check_shape(noise, [None, latent_dim], "noise")
            images = _single_output(generator(noise, training=False), generator)
            return {"images": _to_uint8(images)}

        return serve, [noise_spec]
    if len(inputs) != 2:
        raise ValueError(
            "A generator takes noise, or noise and labels. Received: model "
            f"{generator.name!r} with {len(inputs)} inputs."
        )
    label_input = inputs[1]
    label_shape = _dims(label_input.shape)
    one_hot_classes = None
    if len(label_shape) == 2 and (label_shape[1] or 1) > 1:
        one_hot_classes = label_shape[1]
    label_dtype = keras.backend.standardize_dtype(label_input.dtype)
    labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

    def serve_conditional(noise, labels):
        noise = _check_shape(noise, [None, latent_dim], "noise")
        labels = _check_shape(labels, [None], "labels")
        batch_check = tf.debugging.assert_equal(
            tf.shape(noise)[0],
            tf.shape(labels)[0],
            message="Inputs 'noise' and 'labels' must have the same batch size.",
        )
        with tf.control_dependencies([batch_check]):
            if one_hot_classes is not None:
                fed = tf.one_hot(labels, one_hot_classes, dtype=label_dtype)
            elif len(label_shape) == 2:
                fed = tf.cast(labels[:, None], label_dtype)
            else:
                fed = tf.cast(labels, label_dtype)
            images = _single_output(generator([noise, fed], training=False), generator)
        return {"images": _to_uint8(images)}

    return serve_conditional, [noise_spec, labels_spec]


def _image_spec(model):
    inputs = _model_inputs(model)
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise ValueError(
            "Encoders and classifiers are exported with one image input of shape "
            "(batch, height, width, channels). Received: model "
            f"{model.name!r} with input shapes {[tuple(x.shape) for x in inputs]}"
        )
    shape = [None] + _dims(inputs[0].shape[1:])
    return shape, tf.TensorSpec(shape, tf.uint8, name="images")


def _encoder_endpoint(encoder):
    shape, spec = _image_spec(encoder)

    def serve(images):
        images = _check_shape(images, shape, "images")
        features = _single_output(encoder(_from_uint8(images), training=False), encoder)
        if len(features.shape) > 2:
            features = tf.reduce_mean(
                features, axis=list(range(1, len(features.shape) - 1))
            )
        return {"features": features}

    return serve, [spec]


def _classifier_endpoint(classifier):
    shape, spec = _image_spec(classifier)
    is_probability = _ends_in_softmax(classifier)

    def serve(images):
        images = _check_shape(images, shape, "images")
        outputs = _single_output(
            classifier(_from_uint8(images), training=False), classifier
        )
        probabilities = outputs if is_probability else tf.nn.softmax(outputs)
        return {
            "probabilities": probabilities,
            "classes": tf.argmax(probabilities, axis=-1),
        }

    return serve, [spec]


def _example_inputs(specs, batch_size):
    rng = np.random.default_rng(0)
    inputs = {}
    for spec in specs:
        shape = [batch_size] + [1 if d is None else d for d in spec.shape[1:]]
        if spec.dtype == tf.uint8:
            inputs[spec.name] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        elif spec.dtype == tf.int32:
            inputs[spec.name] = np.zeros(shape, dtype=np.int32)
        else:
            inputs[spec.name] = rng.normal(size=shape).astype(np.float32)
    return inputs
