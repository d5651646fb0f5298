"""SGD with coupled (L2) weight decay, as PyTorch's `torch.optim.SGD`.

Keras' `weight_decay` argument is decoupled (Loshchilov & Hutter 2019): after
the gradient step every variable shrinks by `lr * wd * w`, outside the
momentum. PyTorch's SGD, which RotNet (Gidaris et al. 2018) and most papers of
its time trained with, adds `wd * w` to the gradient instead, so the decay
goes through the momentum buffer:

    g' = g + wd * w
    v  = momentum * v + g'          (PyTorch's buffer, dampening 0)
    w  = w - lr * v                 (Nesterov: w - lr * (g' + momentum * v))

With momentum 0.9 the coupled decay acts about 1 / (1 - 0.9) = 10 times more
strongly at a steady state: 1000 steps of pure decay at lr 0.1, wd 5e-4 leave
w = 0.951 w0 decoupled but 0.608 w0 coupled.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ssl")
class CoupledWeightDecaySGD(keras.optimizers.SGD):
    """SGD whose weight decay is added to the gradient (PyTorch's SGD).

    Reference: the update of `torch.optim.SGD(weight_decay=wd)`, used by
    Gidaris, Singh & Komodakis, ICLR 2018 (RotNet) and its CIFAR recipe.

    Keras' SGD momentum is written `v = momentum * v - lr * g; w += v`, which
    equals PyTorch's form for a constant learning rate; the difference between
    this class and `keras.optimizers.SGD(weight_decay=wd)` is only where the
    decay enters: here `g + wd * w` is the gradient that the momentum
    accumulates. The decay is added after gradient clipping (as PyTorch's
    `clip_grad_norm_` acts on `.grad` before `step`) and after the gradients
    of replicas are summed, so each variable is decayed once per step.
    Variables excluded with `exclude_from_weight_decay` are not decayed.

    Args:
        learning_rate: a float or a `keras.optimizers.schedules` schedule.
        momentum: momentum (0.0 for plain SGD).
        nesterov: Nesterov momentum.
        weight_decay: the L2 coefficient wd added as `wd * w` to gradients
            (None or 0: no decay).
        **kwargs: other `keras.optimizers.Optimizer` arguments (`clipnorm`,
            `name`, ...).

    Example:

    >>> import numpy as np
    >>> w = keras.Variable(np.ones(2, "float32"))
    >>> optimizer = CoupledWeightDecaySGD(learning_rate=0.1, weight_decay=0.5)
    >>> _ = optimizer.apply_gradients([(np.zeros(2, "float32"), w)])
    >>> [round(float(v), 4) for v in w.numpy()]  # 1 - 0.1 * (0 + 0.5 * 1)
    [0.95, 0.95]
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        **kwargs,
    ):
        if weight_decay is not None and (
            isinstance(weight_decay, bool)
            or not isinstance(weight_decay, int | float)
            or weight_decay < 0
        ):
            raise ValueError(
                "weight_decay must be None or a number >= 0. "
                f"Received: weight_decay={weight_decay!r}"
            )
        super().__init__(
            learning_rate=learning_rate,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=None if not weight_decay else float(weight_decay),
            **kwargs,
        )

    def _apply_weight_decay(self, variables):
        # The base class would decay the variables after the step
        # (decoupled); here the decay is part of the gradient instead.
        return

    def update_step(self, gradient, variable, learning_rate):
        if self.weight_decay and self._use_weight_decay(variable):
            decay = ops.cast(self.weight_decay, variable.dtype)
            gradient = ops.add(ops.cast(gradient, variable.dtype), decay * variable)
        return super().update_step(gradient, variable, learning_rate)
