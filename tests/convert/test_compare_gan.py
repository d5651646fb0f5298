"""compare_gan checkpoints: the fixtures made by compare_gan's own code.

`../shared/reference/compare_gan/*.npz` hold compare_gan's variables (by
name), inputs, outputs in both BN modes and the state each pass changed. Our
networks, loaded by the converter, must give the same numbers up to the
image map [0, 1] -> [-1, 1].
"""

import tarfile

import numpy as np
import pytest

from keras_ssl.architectures import resnet_generator
from keras_ssl.convert import ConversionError, convert, list_formats
from keras_ssl.convert.compare_gan import (
    compare_gan_variables,
    convert_compare_gan,
    network_values,
    save_compare_gan_checkpoint,
)
from tests.convert.reference_fixtures import (
    COMPARE_GAN_DISCRIMINATORS,
    COMPARE_GAN_GENERATORS,
    compare_gan_discriminator_outputs,
    compare_gan_fixture,
    compare_gan_generator_images,
    compare_gan_state,
)
from tests.helpers import reference_path

# The networks at the fixtures' widths (README of the folder).
GENERATORS = COMPARE_GAN_GENERATORS
DISCRIMINATORS = COMPARE_GAN_DISCRIMINATORS
# Every fixture takes 1-3 s; the resnet5 ones and the second S3GAN D variant
# run with -m slow to keep this file near 30 s.
SLOW = pytest.mark.slow
FAST_G = ["resnet_cifar32_G_sbn", "resnet_cifar32_G_bn", "resnet_biggan128_G"]
FAST_D = ["resnet_cifar32_D_ssgan", "resnet_biggan128_D_s3gan_projy"]
G_CASES = FAST_G + [pytest.param(n, marks=SLOW) for n in GENERATORS if n not in FAST_G]
D_CASES = FAST_D + [
    pytest.param(n, marks=SLOW) for n in DISCRIMINATORS if n not in FAST_D
]


def _fixture(name):
    return compare_gan_fixture(reference_path("compare_gan", f"{name}.npz"))


def _assert_state(network, data, mode):
    for name, (ours, expected) in compare_gan_state(network, data, mode).items():
        np.testing.assert_allclose(ours, expected, atol=2e-6, rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("name", G_CASES)
@pytest.mark.parametrize("mode", ["inference", "training"])
def test_generator_reproduces_compare_gan(name, mode):
    data, meta = _fixture(name)
    generator = convert("compare_gan_tf", data, GENERATORS[name]())
    images, expected = compare_gan_generator_images(generator, data, meta, mode)
    np.testing.assert_allclose(
        images, expected, atol=1e-4 if "biggan" in name else 5e-6
    )
    _assert_state(generator, data, mode)


@pytest.mark.parametrize("name", D_CASES)
def test_discriminator_and_heads_reproduce_compare_gan(name):
    data, meta = _fixture(name)
    discriminator = convert("compare_gan_tf", data, DISCRIMINATORS[name]())
    outputs = compare_gan_discriminator_outputs(discriminator, data, meta, name)
    for key, (ours, expected) in outputs.items():
        np.testing.assert_allclose(ours, expected, atol=1e-5, err_msg=key)
    _assert_state(discriminator, data, "training")


@pytest.mark.parametrize(
    "name, build",
    [
        (name, build)
        for name, build in {**GENERATORS, **DISCRIMINATORS}.items()
        if "cifar" in name or name == "resnet_biggan128_G"
    ],
)
def test_every_variable_has_compare_gans_name_shape_and_trainability(name, build):
    _, meta = _fixture(name)
    ours = {
        n: (list(v.shape), v.trainable)
        for n, v in compare_gan_variables(build()).items()
    }
    theirs = {v["name"]: (v["shape"], v["trainable"]) for v in meta["variables"]}
    assert ours == theirs


@pytest.fixture(scope="module")
def small_pair():
    data, _ = _fixture("resnet_cifar32_D_ssgan")
    weights = {
        k: v
        for k, v in data.items()
        if not k.startswith(("input/", "output/", "after/"))
    }
    return weights, DISCRIMINATORS["resnet_cifar32_D_ssgan"]


def test_format_is_registered():
    assert "compare_gan_tf" in list_formats()


def test_missing_extra_and_mis_shaped_variables_are_listed(small_pair):
    weights, build = small_pair
    broken = dict(weights)
    del broken["discriminator/B1/same_conv1/bias"]
    broken["discriminator/B9/same_conv1/kernel"] = np.zeros((3, 3, 16, 16), "float32")
    broken["discriminator/B2/same_conv1/kernel"] = np.zeros((3, 3, 16, 8), "float32")
    network = build()
    before = [np.asarray(v).copy() for v in network.weights]
    with pytest.raises(ConversionError) as error:
        convert_compare_gan(broken, network)
    message = str(error.value)
    assert "1 missing from the checkpoint: discriminator/B1/same_conv1/bias" in message
    assert "unused by the network: discriminator/B9/same_conv1/kernel" in message
    assert "mismatched shapes: discriminator/B2/same_conv1/kernel" in message
    # All or nothing: no variable changed.
    for variable, value in zip(network.weights, before):
        np.testing.assert_array_equal(np.asarray(variable), value)


def test_other_networks_and_optimizer_slots_are_not_part_of_this_one(small_pair):
    weights, build = small_pair
    extra = dict(weights)
    extra["generator/fc_noise/kernel"] = np.zeros((4, 4), "float32")
    extra["global_step"] = np.array(5)
    extra["discriminator/B1/same_conv1/kernel/Adam"] = np.zeros((3, 3, 3, 16))
    network = convert_compare_gan(extra, build())
    np.testing.assert_array_equal(
        np.asarray(network.get_layer("discriminator.disc_final_fc").layer.bias),
        weights["discriminator/disc_final_fc/bias"],
    )


def test_round_trip_through_a_tf_hub_module_folder(tmp_path):
    build = GENERATORS["resnet_cifar32_G_sbn"]
    source = build()
    values = network_values(source)
    rng = np.random.default_rng(0)
    values = {
        k: (v + rng.normal(size=v.shape)).astype(v.dtype) for k, v in values.items()
    }
    module = tmp_path / "ssgan_module"
    save_compare_gan_checkpoint(values, module / "variables" / "variables")
    target = convert("compare_gan_tf", str(module), build())
    for name, value in network_values(target).items():
        np.testing.assert_array_equal(value, values[name])
    archive = tmp_path / "ssgan_128x128_1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(module / "variables", arcname="./variables")
    packed = network_values(convert("compare_gan_tf", str(archive), build()))
    np.testing.assert_array_equal(
        packed["generator/fc_noise/kernel"], values["generator/fc_noise/kernel"]
    )
    index = module / "variables" / "variables.index"
    again = convert("compare_gan_tf", str(index), build())
    np.testing.assert_array_equal(
        network_values(again)["generator/final_conv/bias"],
        values["generator/final_conv/bias"],
    )


def test_generator_takes_the_moving_average_copies_when_present():
    build = GENERATORS["resnet_cifar32_G_bn"]
    values = network_values(build())
    with_ema = dict(values)
    trainable = [n for n, v in compare_gan_variables(build()).items() if v.trainable]
    for name in trainable:
        with_ema[f"{name}/ExponentialMovingAverage"] = values[name] + 1.0
    loaded = network_values(convert_compare_gan(with_ema, build()))
    name = trainable[0]
    np.testing.assert_allclose(loaded[name], values[name] + 1.0)
    raw = network_values(convert_compare_gan(with_ema, build(), ema=False))
    np.testing.assert_allclose(raw[name], values[name])
    with pytest.raises(ConversionError, match="ExponentialMovingAverage"):
        convert_compare_gan(values, build(), ema=True)


def test_not_a_compare_gan_network_is_a_clear_error():
    legacy = resnet_generator(32, z_dim=8, base_channels=4)
    with pytest.raises(ValueError, match="no compare_gan counterpart"):
        compare_gan_variables(legacy)
