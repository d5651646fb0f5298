"""Mimicry checkpoints: read by exact name, all or nothing, into the zoo's presets."""

import numpy as np
import pytest

from keras_ssl import convert, zoo
from keras_ssl.architectures.mimicry_resnet import (
    mimicry_discriminator,
    mimicry_generator,
)
from keras_ssl.convert import mimicry, readers
from keras_ssl.methods.registry import _BUILDERS
from keras_ssl.methods.ssgan import SSGAN
from keras_ssl.zoo import originals
from tests.architectures.test_mimicry_resnet import (
    FIXTURES,
    build,
    inputs_of,
    load,
    ours,
)
from tests.helpers import reference_path

PRESETS = [
    "mimicry_sngan_cifar10",
    "mimicry_ssgan_cifar10",
    "mimicry_cganpd_cifar10",
    "mimicry_ssgan_stl10",
    "mimicry_ssgan_imagenet",
]


def _weights(network):
    return [np.array(v) for v in network.weights]


def test_the_format_is_registered():
    assert "mimicry_pth" in convert.list_formats()
    assert convert.get_converter("mimicry_pth") is mimicry.convert_mimicry


@pytest.mark.parametrize("name", FIXTURES)
def test_reads_the_torch_files_as_mimicry_wrote_them(name):
    torch = pytest.importorskip("torch")
    _, meta, state = load(name)
    path = reference_path("mimicry", f"{name}.pth")
    read = readers.read_torch_state_dict(path, key=mimicry.STATE_DICT_KEYS)
    assert list(read) == list(torch.load(path, weights_only=True))
    assert sorted(read) == sorted(state)
    for key, value in state.items():
        np.testing.assert_array_equal(read[key], value, err_msg=key)
    from_file = convert.convert("mimicry_pth", path, build(meta))
    from_arrays = mimicry.convert_mimicry(state, build(meta))
    for a, b in zip(_weights(from_file), _weights(from_arrays), strict=True):
        np.testing.assert_array_equal(a, b)


def test_reads_a_released_checkpoint_layout(tmp_path):
    """`netG.pth` wraps the state dict with the optimizer state and the step."""
    torch = pytest.importorskip("torch")
    arrays, meta, state = load("cganpd32_G")
    path = tmp_path / "netG.pth"
    torch.save(
        {
            "model_state_dict": {k: torch.from_numpy(v) for k, v in state.items()},
            "optimizer_state_dict": {"state": {}, "param_groups": []},
            "global_step": 100000,
        },
        path,
    )
    network = convert.convert("mimicry_pth", path, build(meta))
    outputs = ours(network(inputs_of(arrays, meta), training=False), True)
    np.testing.assert_allclose(
        outputs["output"], arrays["output/eval"], rtol=1e-5, atol=2e-5
    )


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "netG.pth"
    path.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a readable PyTorch checkpoint"):
        convert.convert("mimicry_pth", path, mimicry_generator(32, 8, 8))


def test_missing_extra_and_misshaped_entries_are_all_listed_and_nothing_loads():
    _, meta, state = load("ssgan32_D")
    network = build(meta)
    before = _weights(network)
    broken = dict(state)
    del broken["block3.c2.weight_u"]
    broken["block9.c1.weight_orig"] = np.zeros((1,), "float32")
    broken["l_y.weight"] = np.zeros((4, 64), "float32")
    with pytest.raises(convert.ConversionError) as info:
        mimicry.convert_mimicry(broken, network)
    message = str(info.value)
    assert "1 missing from the checkpoint: block3.c2.weight_u" in message
    assert "1 in the checkpoint but unused by the network: block9.c1" in message
    assert "1 with mismatched shapes: l_y.weight: checkpoint (4, 64)" in message
    for a, b in zip(before, _weights(network), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s: s.pop("b5.running_var"), "missing from the checkpoint: b5.running"),
        (lambda s: s.update(extra=np.ones(3)), "unused by the network: extra"),
        (
            lambda s: s.update({"l1.weight": s["l1.weight"][:, :64]}),
            r"mismatched shapes: l1.weight: checkpoint \(512, 64\)",
        ),
        (
            lambda s: s.update({"block2.c1.weight": s["block2.c1.weight"][:, :8]}),
            r"mismatched shapes: block2.c1.weight",
        ),
    ],
)
def test_each_kind_of_misfit_alone(change, match):
    _, meta, state = load("sngan32_G")
    state = dict(state)
    change(state)
    with pytest.raises(convert.ConversionError, match=match):
        mimicry.convert_mimicry(state, build(meta))


def test_num_batches_tracked_and_sn_sigma_are_optional():
    for name in ("cganpd32_G", "ssgan32_D"):
        _, meta, state = load(name)
        kept = {
            k: v
            for k, v in state.items()
            if not k.endswith(("num_batches_tracked", "sn_sigma"))
        }
        assert len(kept) < len(state)
        a = mimicry.convert_mimicry(kept, build(meta))
        b = mimicry.convert_mimicry(state, build(meta))
        for x, y in zip(_weights(a), _weights(b), strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", FIXTURES)
def test_to_state_dict_gives_back_mimicrys_state(name):
    _, meta, state = load(name)
    back = mimicry.to_state_dict(mimicry.convert_mimicry(state, build(meta)))
    assert sorted(back) == sorted(state)
    for key, value in state.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        if key.endswith(".sn_sigma"):
            continue  # never read by Mimicry; written as its initial value, 1
        np.testing.assert_array_equal(back[key], value, err_msg=key)


# ------------------------------------------------------------------- zoo
def test_presets_record_the_release():
    for name in PRESETS:
        preset = zoo.get_preset(name)
        original = preset.original
        assert original["format"] in convert.list_formats()
        assert original["url"] is None and original["sha256"] is None
        assert original["page"].startswith("https://github.com/kwotsin/mimicry#")
        assert original["link"].startswith("https://drive.google.com/")
        assert original["license"] == "MIT"
        assert original["network"] == "generator"
        assert original["filename"] == "netG.pth"
        published = original["published"]
        assert {"FID", "IS", "KID", "protocol"} <= set(published)
        assert "50k generated and 50k real" in published["protocol"]
        assert preset.recipe["model"]["style"] == "mimicry"
    fid = {n: zoo.get_preset(n).original["published"]["FID"] for n in PRESETS}
    assert fid == {
        "mimicry_sngan_cifar10": 16.77,
        "mimicry_ssgan_cifar10": 14.65,
        "mimicry_cganpd_cifar10": 10.84,
        "mimicry_ssgan_stl10": 37.06,
        "mimicry_ssgan_imagenet": 62.48,
    }


def _build_fixture_ssgan(image_size=32, channels=3, width=128, **_):
    """SSGAN with Mimicry's 32x32 networks: the preset's method, directly."""
    return SSGAN(
        mimicry_generator(image_size, base_channels=2 * width, channels=channels),
        mimicry_discriminator(
            image_size, base_channels=width, channels=channels, rotation_head=True
        ),
        loss="hinge",
    )


@pytest.fixture
def fixture_preset(monkeypatch, tmp_path):
    """`mimicry_ssgan_cifar10`'s entries, with a method that builds its networks
    directly (the same networks as `style="mimicry"`), and a fresh cache."""
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(_BUILDERS, "toy_mimicry_ssgan", _build_fixture_ssgan)
    calls = []

    def counting(source, network, **options):
        calls.append(source)
        return mimicry.convert_mimicry(source, network, **options)

    monkeypatch.setitem(mimicry.FORMATS, "mimicry_pth", counting)
    config = zoo.get_preset("mimicry_ssgan_cifar10").to_dict()
    config["name"] = "toy_mimicry_ssgan_cifar10"
    config["recipe"]["method"] = "toy_mimicry_ssgan"
    name = zoo.register(config).name
    yield name, calls
    zoo.unregister(name)


def test_zoo_load_converts_the_release_once_then_uses_the_cache(fixture_preset):
    pytest.importorskip("torch")
    name, calls = fixture_preset
    arrays, meta, _ = load("ssgan32_G")  # full size: the preset's own width
    path = str(reference_path("mimicry", "ssgan32_G.pth"))
    model = zoo.load(name, weights=path)
    images = ours(model.generator(arrays["input/z"], training=False), True)["output"]
    np.testing.assert_allclose(images, arrays["output/eval"], rtol=1e-5, atol=2e-5)
    assert len(calls) == 1
    digest = originals.verify(path, zoo.get_preset(name))
    cached = originals.converted_path(zoo.get_preset(name), digest)
    assert cached.endswith(".weights.h5")
    again = zoo.load(name, weights=path)
    assert len(calls) == 1  # served from the cache
    for a, b in zip(_weights(model.generator), _weights(again.generator), strict=True):
        np.testing.assert_array_equal(a, b)
    # uint8 samples from the released generator.
    assert again.generate(2, seed=0).dtype == np.uint8


def test_zoo_without_the_file_says_where_to_get_it(fixture_preset):
    name, _ = fixture_preset
    with pytest.raises(FileNotFoundError) as info:
        zoo.load(name)
    message = str(info.value)
    assert "https://github.com/kwotsin/mimicry#cifar-10" in message
    assert f'zoo.load("{name}", weights="path/to/netG.pth")' in message
    assert "no direct download link" in message
    with pytest.raises(FileNotFoundError, match="Original weights not found"):
        zoo.load(name, weights="/nonexistent/netG.pth")


def test_zoo_without_torch_says_how_to_install_it(fixture_preset, monkeypatch):
    name, calls = fixture_preset
    path = str(reference_path("mimicry", "ssgan32_G.pth"))

    def no_torch():
        raise ImportError(
            "Reading PyTorch checkpoints needs torch, an optional dependency: "
            'pip install "keras-ssl[convert]"'
        )

    monkeypatch.setattr(readers, "import_torch", no_torch)
    with pytest.raises(ImportError) as info:
        zoo.load(name, weights=path)
    assert "keras-ssl[convert]" in str(info.value)
    assert name in str(info.value)


@pytest.mark.parametrize(
    "name, fixture, overrides",
    [
        ("mimicry_sngan_cifar10", "sngan32_G", {"width": 16}),
        ("mimicry_cganpd_cifar10", "cganpd32_G", {"width": 16}),
        ("mimicry_ssgan_cifar10", "ssgan32_G", {}),
        ("mimicry_ssgan_stl10", "ssgan48_G", {"g_width": 32, "d_width": 64}),
        ("mimicry_ssgan_imagenet", "ssgan128_G", {"width": 64}),
    ],
)
def test_presets_load_mimicrys_release_end_to_end(
    name, fixture, overrides, monkeypatch, tmp_path
):
    """The real presets: build with style="mimicry", convert, cache, reload."""
    pytest.importorskip("torch")
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "cache"))
    arrays, meta, _ = load(fixture)
    path = str(reference_path("mimicry", f"{fixture}.pth"))
    for _ in range(2):  # the second load reads the cached conversion
        model = zoo.load(name, weights=path, **overrides)
        images = model.generator(inputs_of(arrays, meta), training=False)
        np.testing.assert_allclose(
            ours(images, True)["output"], arrays["output/eval"], rtol=1e-5, atol=2e-5
        )
    assert len(list((tmp_path / "cache" / "converted").glob("*.weights.h5"))) == 1


@pytest.mark.parametrize("name", PRESETS)
def test_presets_build_mimicrys_networks(name):
    preset = zoo.get_preset(name)
    size = preset.image_size
    model = zoo.load(name, weights=None, width=16, g_width=None, d_width=None)
    generator = mimicry_generator(
        size, base_channels=32 if size == 32 else 16, num_classes=preset.num_classes
    )
    assert [v.shape for v in model.generator.weights] == [
        v.shape for v in generator.weights
    ]
    assert set(mimicry.to_state_dict(model.generator)) == set(
        mimicry.to_state_dict(generator)
    )
