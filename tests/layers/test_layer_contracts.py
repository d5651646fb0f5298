"""The shared layer contract (ours and Keras' own) on the general-purpose layers."""

import numpy as np
import pytest

from keras_ssl.layers import ChannelWiseDense, MemoryBank, SinkhornNormalization
from tests.helpers import random_inputs, run_keras_layer_test, run_layer_test

CASES = [
    pytest.param(
        ChannelWiseDense,
        {"use_bias": True, "kernel_initializer": "he_normal"},
        random_inputs((2, 4, 5, 3), seed=0),
        (2, 4, 5, 3),
        (2, 0),
        id="channel_wise_dense",
    ),
    pytest.param(
        SinkhornNormalization,
        {"n_iters": 5, "temperature": 0.5},
        random_inputs((2, 4, 4), seed=1),
        (2, 4, 4),
        (0, 0),
        id="sinkhorn_normalization",
    ),
    pytest.param(
        MemoryBank,
        {"size": 10, "dim": 4, "momentum": 0.5, "seed": 0},
        np.array([0, 3, 9], "int32"),
        (3, 4),
        (0, 1),
        id="memory_bank",
    ),
]


@pytest.mark.parametrize("cls, kwargs, inputs, shape, weights", CASES)
def test_layer_contract(cls, kwargs, inputs, shape, weights, tmp_path):
    run_layer_test(
        cls,
        kwargs,
        inputs,
        expected_output_shape=shape,
        expected_num_trainable_weights=weights[0],
        expected_num_non_trainable_weights=weights[1],
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("cls, kwargs, inputs, shape, weights", CASES)
def test_keras_layer_contract(cls, kwargs, inputs, shape, weights):
    run_keras_layer_test(
        cls,
        kwargs,
        input_data=inputs,
        expected_output_shape=shape,
        expected_num_trainable_weights=weights[0],
        expected_num_non_trainable_weights=weights[1],
        run_training_check=weights[0] > 0,
    )
