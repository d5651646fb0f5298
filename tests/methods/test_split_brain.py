import keras
import numpy as np
import pytest
from keras import ops

from keras_ssl.methods.split_brain import SplitBrain, build_split_brain
from keras_ssl.ops.color import images_to_lab, lab_to_images
from tests.helpers import cifar10_images, run_method_test
from tests.methods.pretext_helpers import short_run

SMALL = {"image_size": 32, "encoder_config": {"width": 8, "num_blocks": 3}}


def test_trains_on_real_images_and_round_trips(tmp_path):
    images = cifar10_images(16)
    model, history, restored = run_method_test(
        "split_brain", SMALL, images, steps=2, tmp_path=tmp_path
    )
    assert set(history.history) == set(SplitBrain.metric_names)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert logs["pretext_loss"] == pytest.approx(
        logs["l_to_ab_loss"] + logs["ab_to_l_loss"], rel=1e-4
    )
    columns = restored.preview(images[:2])
    assert [c.shape for c in columns] == [(2, 32, 32, 3)] * 3
    assert restored.colorize(images[0]).shape == (32, 32, 3)


def test_halves_see_disjoint_channels_and_the_representation_is_both():
    images = cifar10_images(2)
    model = build_split_brain(**SMALL)
    features = np.asarray(model.encoder(images))
    assert features.shape == (2, 8, 8, 16)
    lab = ops.convert_to_numpy(images_to_lab(images))
    recoloured = lab.copy()
    recoloured[..., 1:] *= -0.5
    other = np.asarray(model.encoder(ops.convert_to_numpy(lab_to_images(recoloured))))
    # The L half's features (first 8 channels) ignore colour; the ab half's do not.
    np.testing.assert_allclose(other[..., :8], features[..., :8], atol=2e-3)
    assert np.abs(other[..., 8:] - features[..., 8:]).max() > 1e-3
    ab_logits, l_logits = model(images)
    assert ab_logits.shape[-1] == 261 and l_logits.shape[-1] == 50


def test_lightness_targets_are_bins_of_width_two():
    grey = np.zeros((1, 32, 32, 3), "float32")
    grey[..., 0] = 51.0
    lab = ops.convert_to_tensor(grey)
    model = build_split_brain(**SMALL)
    images = lab_to_images(lab)
    ab_logits, l_logits = model(images)
    # A confident L head on bin 25 (L in [50, 52)) scores accuracy 1.
    biased = np.zeros(50, "float32")
    biased[25] = 100.0
    model.lightness_head.bias.assign(biased)
    assert float(model.pretext_logs(images)["ab_to_l_accuracy"]) == 1.0


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="channels"):
        build_split_brain(32, channels=1)
    with pytest.raises(TypeError, match="encoder"):
        build_split_brain(32, encoder=keras.Sequential())
    with pytest.raises(ValueError, match="split_brain_encoder"):
        SplitBrain(
            keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 1)])
        )


@pytest.mark.slow
def test_both_halves_learn_in_a_short_run():
    keras.utils.set_random_seed(0)
    model = build_split_brain(32, encoder_config={"width": 16, "num_blocks": 3})
    before, after, _ = short_run(model)
    assert after["l_to_ab_loss"] < before["l_to_ab_loss"]
    assert after["ab_to_l_loss"] < before["ab_to_l_loss"]
    assert after["color_error"] < before["color_error"]
