import numpy as np
import pytest

from keras_ssl import convert, zoo
from keras_ssl.convert.core import ConversionError
from keras_ssl.methods.colorization import build_colorization
from tests.architectures.test_colorization_eccv16 import fixture, nhwc, state_dict
from tests.helpers import reference_path


def test_format_is_registered():
    assert "colorization_release_v2" in convert.list_formats()


def test_method_takes_the_release_bins_and_reproduces_it():
    arrays = fixture()
    model = build_colorization(64, encoder="eccv16", width=1 / 16, bins=313)
    convert.convert("colorization_release_v2", state_dict(arrays), model)
    expected_bins = arrays["model_out.weight"][:, :, 0, 0].T * 110
    np.testing.assert_allclose(np.asarray(model.bins), expected_bins, rtol=1e-6)
    # At T = 1 the annealed mean is the release's expectation over the bins.
    ab = model.predict_ab(nhwc(arrays["input/L"]), temperature=1.0)
    np.testing.assert_allclose(
        np.asarray(ab), nhwc(arrays["output/eval/ab"]), atol=2e-3
    )


def test_a_mismatched_file_lists_every_problem():
    values = state_dict(fixture())
    values.pop("model3.2.bias")
    values["extra.weight"] = np.zeros(3)
    model = build_colorization(64, encoder="eccv16", width=1 / 16, bins=313)
    with pytest.raises(ConversionError, match="model3.2.bias") as error:
        convert.convert("colorization_release_v2", values, model)
    assert "extra.weight" in str(error.value)
    wrong_width = build_colorization(64, encoder="eccv16", width=1 / 8, bins=313)
    with pytest.raises(ConversionError, match="mismatched shapes"):
        convert.convert("colorization_release_v2", state_dict(fixture()), wrong_width)


def test_zoo_loads_the_original_file_at_fixture_width(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path / "cache"))
    preset = dict(zoo.get_preset("colorization_eccv16").to_dict())
    preset["name"] = "colorization_eccv16_w16_test"
    preset["recipe"] = dict(preset["recipe"])
    preset["recipe"]["model"] = dict(preset["recipe"]["model"], width=1 / 16)
    preset["recipe"]["model"]["image_size"] = 64
    preset["recipe"]["data"] = dict(preset["recipe"]["data"], image_size=64)
    zoo.register(preset, overwrite=True)
    try:
        path = str(reference_path("colorization", "eccv16_w16.pth"))
        model = zoo.load("colorization_eccv16_w16_test", weights=path)
        arrays = fixture()
        ab = model.predict_ab(nhwc(arrays["input/L"]), temperature=1.0)
        np.testing.assert_allclose(
            np.asarray(ab), nhwc(arrays["output/eval/ab"]), atol=2e-3
        )
        # The second load comes from the converted cache.
        again = zoo.load("colorization_eccv16_w16_test", weights=path)
        np.testing.assert_allclose(np.asarray(again.bins), np.asarray(model.bins))
        photos = np.random.default_rng(0).integers(0, 256, (2, 50, 70, 3), "uint8")
        coloured = model.colorize(photos)
        assert coloured.shape == photos.shape and coloured.dtype == np.uint8
    finally:
        zoo.unregister("colorization_eccv16_w16_test")
