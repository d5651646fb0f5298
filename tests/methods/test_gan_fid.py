"""Slow: each GAN method, trained a few hundred steps, lowers its FID.

FID (domain features): Frechet distance in the penultimate features of a
small classifier trained on the same data (`keras_ssl.evaluation`), between
500 generated and 500 real digits, at initialisation and after training.
"""

import numpy as np
import pytest

from keras_ssl.data import load, load_arrays
from keras_ssl.evaluation import domain_extractor, fid, train_domain_classifier
from keras_ssl.methods import build_method

STEPS = 400
BATCH = 32
COMMON = {"image_size": 32, "channels": 1, "width": 16, "z_dim": 32, "seed": 0}
METHODS = {
    "gan": {},
    "ssgan": {},
    "cgan": {"num_classes": 10},
    "s3gan": {"num_classes": 10, "labeled_fraction": 0.2},
}


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    images, labels = load_arrays("digits", image_size=32)
    classifier = train_domain_classifier(
        (images, labels),
        num_classes=10,
        epochs=5,
        width=16,
        seed=0,
        cache_dir=str(tmp_path_factory.mktemp("domain")),
        verbose=0,
    )
    return domain_extractor(classifier), images[:500]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(METHODS))
def test_training_lowers_fid(name, extractor):
    features, reference = extractor
    gan = build_method(name, **COMMON, **METHODS[name])
    gan.compile()
    before = fid(gan, reference, features, num_samples=500, seed=0, verbose=False)
    data = load(
        "digits",
        image_size=32,
        batch_size=BATCH,
        seed=0,
        repeat=True,
        drop_remainder=True,
    )
    history = gan.fit(data, epochs=1, steps_per_epoch=STEPS, verbose=0)
    assert np.all(np.isfinite(history.history["g_loss"]))
    after = fid(gan, reference, features, num_samples=500, seed=0, verbose=False)
    print(f"{name}: FID (domain features) {before:.2f} -> {after:.2f}")
    assert after < 0.5 * before
