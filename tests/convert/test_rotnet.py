import json
import tarfile

import keras
import numpy as np
import pytest

from keras_ssl import convert
from keras_ssl.architectures import nin_encoder
from keras_ssl.convert.core import ConversionError
from keras_ssl.convert.rotnet import CIFAR_MEAN, CIFAR_STD
from keras_ssl.evaluation.conv_classifier import nin_conv_block_classifier
from keras_ssl.methods.rotnet import RotNet
from tests.helpers import reference_path


def _fixture(name):
    with np.load(reference_path("rotnet", f"{name}.npz")) as data:
        return {key: data[key] for key in data.files}


def _nhwc(array):
    return np.transpose(array, (0, 2, 3, 1))


def _rotnet(**encoder_options):
    encoder = nin_encoder((32, 32, 3), num_blocks=4, width=192, **encoder_options)
    return RotNet(encoder)


def _block_outputs(encoder, x, training):
    names = ["block1", "block2", "block3", "block4"]
    probe = keras.Model(encoder.inputs, [encoder.get_layer(n).output for n in names])
    return [np.asarray(v) for v in probe(x, training=training)]


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_nin_and_rotation_head_reproduce_the_authors_outputs(mode):
    values = _fixture("nin4_rotnet")
    model = convert.convert("rotnet_pth", values, _rotnet())
    x = _nhwc(values["input/x"])
    training = mode == "train"
    blocks = _block_outputs(model.encoder, x, training)
    for index, ours in enumerate(blocks, start=1):
        theirs = _nhwc(values[f"output/{mode}/conv{index}"])
        np.testing.assert_allclose(ours, theirs, atol=2e-4, rtol=1e-4)
    logits = model.rotation_logits(x, training=training)
    np.testing.assert_allclose(
        np.asarray(logits), values[f"output/{mode}/classifier"], atol=2e-4
    )


def test_input_normalization_takes_images_in_minus_one_one():
    values = _fixture("nin4_rotnet")
    model = convert.convert(
        "rotnet_pth", values, _rotnet(input_mean=CIFAR_MEAN, input_std=CIFAR_STD)
    )
    images = _nhwc(values["input/images01"]) * 2.0 - 1.0
    logits = model.rotation_logits(images, training=False)
    np.testing.assert_allclose(
        np.asarray(logits), values["output/eval/classifier"], atol=2e-4
    )


def test_conv_block_classifier_chains_on_block2():
    encoder_values = _fixture("nin4_rotnet")
    values = _fixture("nin_convblock3_classifier")
    classifier = convert.convert(
        "rotnet_pth", values, nin_conv_block_classifier((8, 8, 192), 10)
    )
    # The two files chain: our converted encoder's block 2 feeds the
    # converted classifier.
    encoder = convert.convert(
        "rotnet_pth", encoder_values, nin_encoder((32, 32, 3), num_blocks=4)
    )
    block2 = _block_outputs(encoder, _nhwc(encoder_values["input/x"]), False)[1]
    np.testing.assert_allclose(
        np.asarray(classifier(block2, training=False)),
        values["output/eval"],
        atol=5e-4,
    )
    # Train mode last: it updates the moving statistics.
    for mode in ("eval", "train"):
        ours = classifier(_nhwc(values["input/feat"]), training=mode == "train")
        np.testing.assert_allclose(
            np.asarray(ours), values[f"output/{mode}"], atol=2e-4
        )


def test_reads_the_pth_file_and_a_release_archive(tmp_path):
    torch = pytest.importorskip("torch")
    path = reference_path("rotnet", "nin4_rotnet.pth")
    values = _fixture("nin4_rotnet")
    bare = convert.convert("rotnet_pth", str(path), _rotnet())
    state = torch.load(path, weights_only=True)
    wrapped = tmp_path / "model_net_epoch200"
    torch.save({"epoch": 200, "network": state}, wrapped)
    archive = tmp_path / "CIFAR10_RotNet_NIN4blocks.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(wrapped, arcname="CIFAR10_RotNet_NIN4blocks/model_net_epoch200")
    from_archive = convert.convert("rotnet_pth", str(archive), _rotnet())
    x = _nhwc(values["input/x"])
    for model in (bare, from_archive):
        np.testing.assert_allclose(
            np.asarray(model.rotation_logits(x)),
            values["output/eval/classifier"],
            atol=2e-4,
        )


def test_mismatches_are_listed():
    values = _fixture("nin4_rotnet")
    narrow = RotNet(nin_encoder((32, 32, 3), num_blocks=4, width=64))
    with pytest.raises(ConversionError, match="mismatched shapes"):
        convert.convert("rotnet_pth", values, narrow)
    three = RotNet(nin_encoder((32, 32, 3), num_blocks=3, width=192))
    with pytest.raises(ConversionError, match="unused"):
        convert.convert("rotnet_pth", values, three)
    with pytest.raises(ValueError, match="rotnet_pth"):
        convert.convert("rotnet_pth", values, keras.Sequential([keras.Input((2,))]))
    meta = json.loads(str(values["__meta__"]))
    assert meta["constructor_args"]["num_stages"] == 4


def test_preset_loads_the_original_release(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from keras_ssl import zoo

    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "cache"))
    values = _fixture("nin4_rotnet")
    state = torch.load(reference_path("rotnet", "nin4_rotnet.pth"), weights_only=True)
    wrapped = tmp_path / "model_net_epoch200"
    torch.save({"epoch": 200, "network": state}, wrapped)
    archive = tmp_path / "CIFAR10_RotNet_NIN4blocks.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(wrapped, arcname="CIFAR10_RotNet_NIN4blocks/model_net_epoch200")
    preset = zoo.get_preset("rotnet_cifar10")
    assert preset.original["format"] == "rotnet_pth"
    model = zoo.load("rotnet_cifar10", weights=str(archive))
    # The preset's encoder normalises [-1, 1] images as the authors' loader.
    images = _nhwc(values["input/images01"]) * 2.0 - 1.0
    np.testing.assert_allclose(
        np.asarray(model.rotation_logits(images)),
        values["output/eval/classifier"],
        atol=2e-4,
    )
