"""TF Serving warm-up requests.

TF Serving replays `assets.extra/tf_serving_warmup_requests` (a TFRecord file
of `tensorflow.serving.PredictionLog` protos) when it loads a model, so that
the first user request does not pay for graph compilation. With the
optional `tensorflow-serving-api` (`pip install keras-ssl[serving]`) its own
protos build the records; without it, the few messages involved are encoded
field by field, so that exporting needs nothing beyond TensorFlow itself.
"""

import os

import tensorflow as tf

WARMUP_FILENAME = "tf_serving_warmup_requests"

# Field numbers from tensorflow_serving/apis/{prediction_log,predict,model}.proto.
_PREDICTION_LOG_PREDICT_LOG = 6
_PREDICT_LOG_REQUEST = 1
_PREDICT_REQUEST_MODEL_SPEC = 1
_PREDICT_REQUEST_INPUTS = 2
_MODEL_SPEC_NAME = 1
_MODEL_SPEC_SIGNATURE_NAME = 3
_MAP_KEY = 1
_MAP_VALUE = 2


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field_number, payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _varint((field_number << 3) | 2) + _varint(len(payload)) + payload


def predict_request_bytes(inputs, model_name="model", signature_name="serving_default"):
    """Serialized `tensorflow.serving.PredictRequest`.

    Args:
        inputs: dict of input name to array-like (converted with
            `tf.make_tensor_proto`).
        model_name: `model_spec.name`.
        signature_name: `model_spec.signature_name`.
    """
    model_spec = _length_delimited(_MODEL_SPEC_NAME, model_name)
    model_spec += _length_delimited(_MODEL_SPEC_SIGNATURE_NAME, signature_name)
    request = _length_delimited(_PREDICT_REQUEST_MODEL_SPEC, model_spec)
    for name in sorted(inputs):
        tensor = tf.make_tensor_proto(inputs[name]).SerializeToString()
        entry = _length_delimited(_MAP_KEY, name) + _length_delimited(
            _MAP_VALUE, tensor
        )
        request += _length_delimited(_PREDICT_REQUEST_INPUTS, entry)
    return request


def _serving_apis():
    try:
        from tensorflow_serving.apis import (
            model_pb2,
            predict_pb2,
            prediction_log_pb2,
        )
    except ImportError:
        return None
    return model_pb2, predict_pb2, prediction_log_pb2


def prediction_log_bytes(inputs, model_name="model", signature_name="serving_default"):
    """Serialized `tensorflow.serving.PredictionLog` holding one predict request.

    Built with `tensorflow-serving-api` when it is installed, else encoded
    by hand (`predict_request_bytes`); both give the same message.
    """
    apis = _serving_apis()
    if apis is not None:
        model_pb2, predict_pb2, prediction_log_pb2 = apis
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(
                name=model_name, signature_name=signature_name
            )
        )
        for name in sorted(inputs):
            request.inputs[name].CopyFrom(tf.make_tensor_proto(inputs[name]))
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        )
        return log.SerializeToString()
    return _hand_encoded_log(inputs, model_name, signature_name)


def _hand_encoded_log(inputs, model_name, signature_name):
    request = predict_request_bytes(inputs, model_name, signature_name)
    predict_log = _length_delimited(_PREDICT_LOG_REQUEST, request)
    return _length_delimited(_PREDICTION_LOG_PREDICT_LOG, predict_log)


def write_warmup_requests(
    saved_model_dir, requests, model_name="model", signature_name="serving_default"
):
    """Write `assets.extra/tf_serving_warmup_requests` into a SavedModel.

    Args:
        saved_model_dir: the version folder (`export_dir/<version>`).
        requests: list of input dicts, one per warm-up request.
        model_name: model name recorded in each request's `model_spec`.
        signature_name: signature each request calls.

    Returns:
        The path of the written file.
    """
    directory = os.path.join(saved_model_dir, "assets.extra")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, WARMUP_FILENAME)
    with tf.io.TFRecordWriter(path) as writer:
        for inputs in requests:
            writer.write(prediction_log_bytes(inputs, model_name, signature_name))
    return path
