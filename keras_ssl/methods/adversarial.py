"""The two-optimizer compile that every adversarial method shares.

A GAN-like method updates two sets of variables with two optimizers: the
generating side (a generator, or generator + encoder, or an inpainting
network, or two generators) and the discriminating side. `AdversarialModel`
holds that wiring once: `compile(g_optimizer, d_optimizer)` checks and
builds both (so that compiling inside `strategy.scope()` creates every slot
under the strategy), and the pair is saved and restored with the model.
Subclasses say which variables each side owns, through
`generator_variables` / `discriminator_variables`, and may change the
default optimizer (`default_optimizer`).

`model.optimizer` is an `OptimizerGroup` of the two: Keras' JAX trainer
carries `model.optimizer.variables` through each step as arrays, so both
optimizers' state (slots and step counters) must be listed there. The pair
itself is saved under `g_optimizer` / `d_optimizer`.
"""

import keras

# The optimizer of DCGAN-era papers and compare_gan's CIFAR setting
# (REFERENCES: lr 2e-4, Adam(0.5, 0.999)); pix2pix, CycleGAN, BiGAN and
# context encoders use the same.
PAPER_ADAM = {"learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999}


@keras.saving.register_keras_serializable(package="keras_ssl")
class OptimizerGroup(keras.optimizers.Optimizer):
    """Several optimizers seen by Keras as one `model.optimizer`.

    Each optimizer keeps updating its own variables (the train step calls
    it directly); the group only lists their variables together
    (`variables`), so that a trainer that threads optimizer state through
    a step (Keras' JAX trainer) carries all of it. `iterations` and
    `learning_rate` are the first optimizer's (setting `learning_rate`
    sets it on every optimizer). The group holds no state of its own and
    writes none when saved: each optimizer is saved where the model names
    it.

    Args:
        optimizers: the `keras.optimizers.Optimizer`s, built or not.
        name: the group's name.

    Example:

    >>> g, d = keras.optimizers.Adam(), keras.optimizers.SGD()
    >>> group = OptimizerGroup([g, d])
    >>> group.iterations is g.iterations, len(group.variables) == 4
    (True, True)
    """

    def __init__(self, optimizers, name="optimizer_group"):
        super().__init__(learning_rate=0.0, name=name)
        optimizers = list(optimizers)
        if not optimizers or not all(
            isinstance(o, keras.optimizers.Optimizer) for o in optimizers
        ):
            raise TypeError(
                "optimizers must be a non-empty list of "
                "keras.optimizers.Optimizer. Received: "
                f"optimizers={optimizers!r}"
            )
        self.optimizers = optimizers

    def build(self, var_list):
        # The optimizers are built on their own variables by their owner.
        self.built = True

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    @property
    def iterations(self):
        return self.optimizers[0].iterations

    @property
    def learning_rate(self):
        return self.optimizers[0].learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        for optimizer in self.optimizers:
            optimizer.learning_rate = learning_rate

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError(
            "OptimizerGroup does not update variables itself: apply each of "
            "its optimizers to its own variables."
        )

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        return self.apply(grads)

    def finalize_variable_values(self, var_list):
        for optimizer in self.optimizers:
            known = {id(v) for v in optimizer._trainable_variables}
            optimizer.finalize_variable_values([v for v in var_list if id(v) in known])

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass

    def get_config(self):
        return {
            "name": self.name,
            "optimizers": [
                keras.saving.serialize_keras_object(o) for o in self.optimizers
            ],
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizers"] = [
            keras.saving.deserialize_keras_object(o, custom_objects=custom_objects)
            for o in config["optimizers"]
        ]
        return cls(**config)


class AdversarialModel(keras.Model):
    """A `keras.Model` trained by a generator and a discriminator optimizer.

    Subclasses set `self.g_optimizer = self.d_optimizer = None` in their
    constructor and use `self.g_optimizer` / `self.d_optimizer` in
    `train_step`.

    Example:

    >>> class Toy(AdversarialModel):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.generator = keras.layers.Dense(2)
    ...         self.discriminator = keras.layers.Dense(1)
    ...         self.generator.build((None, 2))
    ...         self.discriminator.build((None, 2))
    ...         self.g_optimizer = self.d_optimizer = None
    >>> toy = Toy()
    >>> toy.compile()
    >>> len(toy.g_optimizer.variables) > 0, toy.get_compile_config() is not None
    (True, True)
    """

    def default_optimizer(self):
        """The optimizer used for a side that `compile` is not given."""
        return keras.optimizers.Adam(**PAPER_ADAM)

    @property
    def generator_variables(self):
        """The variables `g_optimizer` updates (default: the generator's)."""
        return self.generator.trainable_variables

    @property
    def discriminator_variables(self):
        """The variables `d_optimizer` updates (default: the discriminator's)."""
        return self.discriminator.trainable_variables

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Set and build the two optimizers (default: `default_optimizer()`).

        Other keyword arguments (`jit_compile`, `steps_per_execution`, ...) go
        to `keras.Model.compile`.
        """
        self.g_optimizer = g_optimizer or self.default_optimizer()
        self.d_optimizer = d_optimizer or self.default_optimizer()
        for name, optimizer in (
            ("g_optimizer", self.g_optimizer),
            ("d_optimizer", self.d_optimizer),
        ):
            if not isinstance(optimizer, keras.optimizers.Optimizer):
                raise TypeError(
                    f"{name} must be a keras.optimizers.Optimizer. "
                    f"Received: {name}={optimizer!r}"
                )
        if self.g_optimizer is self.d_optimizer:
            raise ValueError(
                "g_optimizer and d_optimizer must be two different optimizer "
                "objects (each keeps slots for its own side's variables)."
            )
        super().compile(
            optimizer=OptimizerGroup(
                [self.g_optimizer, self.d_optimizer], name="optimizers"
            ),
            **kwargs,
        )
        self.g_optimizer.build(self.generator_variables)
        self.d_optimizer.build(self.discriminator_variables)

    def get_compile_config(self):
        if self.g_optimizer is None:
            return None
        return {
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
        )
