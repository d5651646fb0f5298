"""pytorch-fid's FID Inception state dict -> fid_inception_v3, against the
fixture made with pytorch-fid's own code (../shared/reference/fid_inception).

The fixture's weights come from the seeded fill rule of its README; our
network, loaded by the converter, must reproduce pytorch-fid's outputs
within float32 rounding (the README's bounds: 1e-5 * max|ref| for pool3,
logits and block means, 3e-5 * max|ref| for whole maps).
"""

import json

import keras
import numpy as np
import pytest

from keras_ssl import convert
from keras_ssl.architectures.fid_inception import BLOCK_LAYERS
from keras_ssl.convert import ConversionError
from tests.convert.reference_fixtures import (
    fid_comparisons,
    fid_outputs,
    fid_state_dict,
    load_npz,
    relative_difference,
)
from tests.helpers import reference_path


def fixture_state_dict():
    """The fixture's 566-entry state dict, regenerated (about 1 s)."""
    return fid_state_dict(reference_path("fid_inception", "state_dict_keys.json"))


@pytest.fixture(scope="module")
def state_dict():
    return fixture_state_dict()


@pytest.fixture(scope="module")
def reference():
    return load_npz(reference_path("fid_inception", "fid_inception.npz"))


@pytest.fixture(scope="module")
def network(fid_inception_network):
    """The session's network, its weights restored afterwards. A test of a
    failing conversion zeroes the kernel it checks first (`_zeroed`), so
    that a partial load would show."""
    weights = fid_inception_network.get_weights()
    yield fid_inception_network
    fid_inception_network.set_weights(weights)


def _zeroed(network, layer):
    kernel = network.get_layer(layer).kernel
    kernel.assign(np.zeros(kernel.shape, "float32"))
    return kernel.numpy()


@pytest.fixture(scope="module")
def outputs(network, state_dict, reference):
    """Every output of the converted network on the fixture's inputs."""
    convert.convert("pytorch_fid_inception", state_dict, network)
    return fid_outputs(network, reference)


@pytest.mark.parametrize("size", ["x299", "x32"])
def test_pool3_logits_and_block_means_match_pytorch_fid(outputs, reference, size):
    pairs = fid_comparisons(outputs[size], reference, size)
    errors = {name: relative_difference(*pair) for name, pair in pairs.items()}
    print(size, {k: f"{v:.2e}" for k, v in errors.items()})
    for name, error in errors.items():
        assert error <= 1e-5, (name, error)


def test_maps_match_pytorch_fid(outputs, reference):
    out = outputs["x299"]
    assert (
        relative_difference(out["block2"][0], reference["x299_img0_block2_nhwc"])
        <= 3e-5
    )
    for block, corner in ((0, 12), (1, 8)):
        expected = reference[f"x299_img0_block{block}_corners_nhwc"]
        tiles = out[f"block{block}"][0]
        actual = np.stack([tiles[:corner, :corner], tiles[-corner:, -corner:]])
        assert relative_difference(actual, expected) <= 3e-5, block
    assert out["block0"].shape == (3, 73, 73, 64)
    assert out["block1"].shape == (3, 35, 35, 192)
    assert out["block2"].shape == (3, 17, 17, 768)


def test_resize_path_matches_pytorch_fid(outputs, reference):
    """32 -> 299: half-pixel bilinear without antialiasing (F.interpolate)."""
    resized = outputs["x32"]["resized"]
    index = np.array(json.loads(str(reference["__meta__"]))["resize_idx"])
    expected = reference["x32_preprocessed_nhwc_sub"]
    difference = np.abs(resized[:, index][:, :, index] - expected).max()
    # torch computes the source coordinates in float32: about 1e-6 apart.
    assert difference <= 1e-5, difference
    # A 299x299 input passes unchanged.
    np.testing.assert_allclose(
        outputs["x299"]["resized"], 2.0 * reference["x299_nhwc"] - 1.0, atol=1e-6
    )


def test_counters_are_optional_and_ignored(network, state_dict):
    without = {k: v for k, v in state_dict.items() if "num_batches_tracked" not in k}
    assert len(without) == 472
    convert.convert("pytorch_fid_inception", without, network)
    kernel = network.get_layer("Mixed_7c.branch_pool.conv").kernel.numpy()
    np.testing.assert_array_equal(
        kernel,
        state_dict["Mixed_7c.branch_pool.conv.weight"].transpose(2, 3, 1, 0),
    )
    np.testing.assert_array_equal(
        network.get_layer("fc").kernel.numpy(), state_dict["fc.weight"].T
    )


def test_wrong_names_and_shapes_are_all_listed(network, state_dict):
    broken = dict(state_dict)
    del broken["Mixed_6b.branch7x7_2.conv.weight"]
    broken["fc.weight"] = broken["fc.weight"][:1000]
    broken["AuxLogits.fc.weight"] = np.zeros((1000, 768), np.float32)
    before = _zeroed(network, "Conv2d_1a_3x3.conv")
    with pytest.raises(ConversionError) as info:
        convert.convert("pytorch_fid_inception", broken, network)
    message = str(info.value)
    assert "Mixed_6b.branch7x7_2.conv.weight" in message
    assert "AuxLogits.fc.weight" in message
    assert "fc.weight: checkpoint (1000, 2048)" in message
    np.testing.assert_array_equal(
        network.get_layer("Conv2d_1a_3x3.conv").kernel.numpy(), before
    )


def test_other_networks_and_options_are_refused(network, state_dict):
    inputs = keras.Input((8, 8, 3))
    other = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs))
    with pytest.raises(ValueError, match="fid_inception_v3"):
        convert.convert("pytorch_fid_inception", state_dict, other)
    with pytest.raises(ValueError, match="no options"):
        convert.convert("pytorch_fid_inception", state_dict, network, key="x")


def test_truncated_genuine_pth(network, state_dict):
    """A real torch.save file with the first 60 entries (block 0, Mixed_5b)."""
    pytest.importorskip("torch")
    path = reference_path("fid_inception", "truncated_state_dict.pth")
    held = convert.read_torch_state_dict(path)
    assert len(held) == 60
    assert any(k.endswith("num_batches_tracked") for k in held)
    for name, value in held.items():
        np.testing.assert_array_equal(value, state_dict[name])

    before = _zeroed(network, "Conv2d_1a_3x3.conv")
    with pytest.raises(ConversionError) as info:
        convert.convert("pytorch_fid_inception", str(path), network)
    message = str(info.value)
    assert str(path) in message
    # 472 names (94 convs x 5 + fc), 50 of them in the file.
    assert "422 missing from the checkpoint" in message
    for name in ("Mixed_5c.branch1x1.conv.weight", "Mixed_7c.branch_pool.bn.bias"):
        assert name in message
    assert "fc.weight" in message and "unused" not in message
    # All or nothing: the part the file holds is not loaded either.
    np.testing.assert_array_equal(
        network.get_layer("Conv2d_1a_3x3.conv").kernel.numpy(), before
    )

    # What it holds is what the fill rule gives, so with the missing entries
    # supplied, block 0 computed from the file's values matches the fixture.
    completed = dict(state_dict, **held)
    convert.convert("pytorch_fid_inception", completed, network)
    block0 = keras.Model(network.inputs, network.get_layer(BLOCK_LAYERS[0]).output)
    with np.load(reference_path("fid_inception", "fid_inception.npz")) as data:
        images, expected = data["x299_nhwc"], data["x299_block0_mean"]
    means = block0.predict_on_batch(2.0 * images - 1.0).mean(axis=(1, 2))
    assert relative_difference(means, expected) <= 1e-5
