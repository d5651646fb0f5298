import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

from keras_ssl.export import WARMUP_FILENAME, export_saved_model, prediction_log_bytes


def read_varint(data, position):
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def fields(data):
    """Decode one protobuf message into {field number: [bytes, ...]}."""
    out, position = {}, 0
    while position < len(data):
        key, position = read_varint(data, position)
        assert key & 7 == 2, "only length-delimited fields are expected"
        length, position = read_varint(data, position)
        out.setdefault(key >> 3, []).append(data[position : position + length])
        position += length
    return out


def decode_prediction_log(data):
    request = fields(fields(fields(data)[6][0])[1][0])
    model_spec = fields(request[1][0])
    inputs = {}
    for entry in request[2]:
        entry = fields(entry)
        proto = tensor_pb2.TensorProto()
        proto.ParseFromString(entry[2][0])
        inputs[entry[1][0].decode()] = tf.make_ndarray(proto)
    return model_spec[1][0].decode(), model_spec[3][0].decode(), inputs


def test_prediction_log_round_trips():
    inputs = {
        "images": np.arange(2 * 3 * 3 * 1, dtype=np.uint8).reshape(2, 3, 3, 1),
        "labels": np.array([4, 7], dtype=np.int32),
    }
    name, signature, decoded = decode_prediction_log(
        prediction_log_bytes(inputs, model_name="ssgan")
    )
    assert (name, signature) == ("ssgan", "serving_default")
    for key, value in inputs.items():
        np.testing.assert_array_equal(decoded[key], value)
        assert decoded[key].dtype == value.dtype


def test_matches_tensorflow_serving_protos_when_installed():
    prediction_log_pb2 = pytest.importorskip(
        "tensorflow_serving.apis.prediction_log_pb2"
    )
    inputs = {"noise": np.ones((2, 5), np.float32)}
    log = prediction_log_pb2.PredictionLog()
    log.ParseFromString(prediction_log_bytes(inputs, model_name="m"))
    request = log.predict_log.request
    assert request.model_spec.name == "m"
    assert request.model_spec.signature_name == "serving_default"
    np.testing.assert_array_equal(
        tf.make_ndarray(request.inputs["noise"]), inputs["noise"]
    )


def test_library_and_hand_encoding_give_the_same_message(monkeypatch):
    from keras_ssl.export import warmup

    prediction_log_pb2 = pytest.importorskip(
        "tensorflow_serving.apis.prediction_log_pb2"
    )
    inputs = {"images": np.zeros((1, 2, 2, 3), np.uint8), "labels": np.array([3])}
    by_library = prediction_log_bytes(inputs, model_name="m")
    monkeypatch.setattr(warmup, "_serving_apis", lambda: None)
    by_hand = prediction_log_bytes(inputs, model_name="m")
    parsed = [prediction_log_pb2.PredictionLog() for _ in range(2)]
    parsed[0].ParseFromString(by_library)
    parsed[1].ParseFromString(by_hand)
    assert parsed[0] == parsed[1]
    assert decode_prediction_log(by_hand)[2]["labels"].tolist() == [3]


def test_export_writes_a_request_the_signature_accepts(tmp_path):
    images = keras.Input((6, 6, 3))
    model = keras.Model(images, keras.layers.Conv2D(2, 3)(images))
    version = export_saved_model(model, tmp_path, version=2, warmup_batch_size=3)
    path = tmp_path / "2" / "assets.extra" / WARMUP_FILENAME
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(path))]
    assert len(records) == 1
    _, signature, inputs = decode_prediction_log(records[0])
    assert inputs["images"].shape == (3, 6, 6, 3)
    assert inputs["images"].dtype == np.uint8
    serve = tf.saved_model.load(version).signatures[signature]
    assert serve(images=tf.constant(inputs["images"]))["features"].shape == (3, 2)
