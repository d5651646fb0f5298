import numpy as np
import pytest

from keras_ssl import convert
from keras_ssl.convert import ConversionError, assign_by_name
from keras_ssl.convert import core as convert_core


def _dense():
    import keras

    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    return layer


def test_assigns_every_variable_with_its_transform():
    layer = _dense()
    kernel = np.arange(6, dtype="float32").reshape(3, 2)  # torch layout [out, in]
    bias = np.array([1.0, 2.0, 3.0], "float32")
    count = assign_by_name(
        {"fc.weight": (layer.kernel, np.transpose), "fc.bias": layer.bias},
        {"fc.weight": kernel, "fc.bias": bias, "fc.num_batches_tracked": 0},
        ignore=(lambda name: name.endswith("num_batches_tracked"),),
    )
    assert count == 2
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel.T)
    np.testing.assert_array_equal(layer.bias.numpy(), bias)


def test_lists_every_problem_and_assigns_nothing():
    layer = _dense()
    before = layer.kernel.numpy().copy()
    with pytest.raises(ConversionError) as info:
        assign_by_name(
            {
                "fc.weight": (layer.kernel, np.transpose),
                "fc.bias": layer.bias,
                "fc.extra": layer.bias,
            },
            {
                "fc.weight": np.zeros((3, 2), "float32"),
                "fc.bias": np.zeros((4,), "float32"),
                "fc.unused": np.zeros((1,), "float32"),
            },
            source="model.pth",
        )
    message = str(info.value)
    assert "model.pth" in message
    assert "1 missing from the checkpoint: fc.extra" in message
    assert "1 in the checkpoint but unused by the network: fc.unused" in message
    assert "fc.bias: checkpoint (4,)" in message
    np.testing.assert_array_equal(layer.kernel.numpy(), before)


def test_unknown_format_names_the_known_ones(monkeypatch):
    monkeypatch.setattr(convert_core, "_formats", lambda: {"a_pth": None})
    with pytest.raises(ValueError, match="Unknown weights format 'b'.*a_pth"):
        convert.get_converter("b")


def test_every_format_module_declares_callable_converters():
    for name in convert.list_formats():
        assert callable(convert.get_converter(name)), name


def test_torch_state_dict_reader_unwraps_and_names_bad_files(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"w": torch.ones(2, 3), "n": torch.tensor(0)}
    torch.save({"model_state_dict": state, "global_step": 5}, tmp_path / "g.pth")
    values = convert.read_torch_state_dict(
        tmp_path / "g.pth", key=["model_state_dict", None]
    )
    assert set(values) == {"w", "n"} and values["w"].shape == (2, 3)
    with pytest.raises(ValueError, match="no state dict under key='network'"):
        convert.read_torch_state_dict(tmp_path / "g.pth", key="network")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pth is not a readable PyTorch"):
        convert.read_torch_state_dict(tmp_path / "bad.pth")


def test_tf_checkpoint_reader_reads_by_name(tmp_path):
    import tensorflow as tf

    checkpoint = tf.train.Checkpoint(v=tf.Variable(np.ones((2, 2), "float32")))
    prefix = checkpoint.write(str(tmp_path / "ckpt"))
    values = convert.read_tf_checkpoint(prefix)
    assert any(v.shape == (2, 2) for v in values.values())
    with pytest.raises(FileNotFoundError, match="expected"):
        convert.read_tf_checkpoint(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No TensorFlow checkpoint"):
        convert.read_tf_checkpoint(str(tmp_path / "empty"))
