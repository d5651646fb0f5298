"""A generator and a discriminator that fit together, for the GAN methods.

`gan_networks` is the one place that turns a method's few architecture
arguments (`image_size`, `channels`, `z_dim`, `width`) into the networks of
compare_gan's ResNet GANs (SN-GAN / SS-GAN / S3GAN; Kurach, Lucic et al.,
ICML 2019) or of DCGAN (Radford et al., ICLR 2016). Every other keyword
argument goes straight to the network builders (`resnet_generator`,
`resnet_discriminator`, or the DCGAN pair): an option that only one of them
names goes to that one, an option both name (`style`,
`attention_resolution`, `num_classes`, ...) to both, and an option neither
names to those that take extra keyword arguments (style-specific options,
which the builders check). New architecture options and styles therefore
need no change in the methods.
"""

import inspect

from keras_ssl.architectures.dcgan import dcgan_discriminator, dcgan_generator
from keras_ssl.architectures.resnet_gan import resnet_discriminator, resnet_generator
from keras_ssl.utils.validation import check_choice, check_int

ARCHITECTURES = {
    "resnet": (resnet_generator, resnet_discriminator),
    "dcgan": (dcgan_generator, dcgan_discriminator),
}
_FIXED = ("image_size", "z_dim", "base_channels", "channels")


def _parameters(function):
    """`(named keyword parameters, whether it takes **kwargs)` of a builder."""
    parameters = inspect.signature(function).parameters.values()
    names = {p.name for p in parameters if p.kind is not p.VAR_KEYWORD}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    return names - set(_FIXED), takes_any


def gan_widths(architecture, image_size, width=None, g_width=None, d_width=None):
    """`(generator base width, discriminator base width)`; None = builder default.

    ResNet at 32x32: D = `width`, G = 2 * `width` (compare_gan's CIFAR ratio,
    G 256 / D 128 at width 128); ResNet at 48-128: `width` is the unit of
    both networks' channel multipliers; DCGAN: the base width of both
    (default 64). `g_width` / `d_width` set one network directly.

    >>> gan_widths("resnet", 32, width=8)
    (16, 8)
    >>> gan_widths("resnet", 64, width=8, d_width=4)
    (8, 4)
    """
    if architecture == "dcgan":
        default = 64 if width is None else width
        return g_width or default, d_width or default
    if image_size == 32:
        return g_width or (None if width is None else 2 * width), d_width or width
    return g_width or width, d_width or width


def route_options(options, generator_builder, discriminator_builder):
    """Split keyword arguments between a generator and a discriminator builder.

    Returns `(generator_options, discriminator_options)`. An option named by
    one builder goes to it, by both to both; one named by neither goes to
    the builders taking `**kwargs`, and is a `TypeError` listing the
    accepted options when neither does.
    """
    g_names, g_any = _parameters(generator_builder)
    d_names, d_any = _parameters(discriminator_builder)
    g_options, d_options = {}, {}
    for key, value in options.items():
        to_g, to_d = key in g_names, key in d_names
        if not (to_g or to_d):
            # Named by neither: a style-specific option for the builders
            # that take extra keyword arguments (they check it themselves).
            to_g, to_d = g_any, d_any
        if not (to_g or to_d):
            known = sorted(g_names | d_names)
            raise TypeError(
                f"{key!r} is not an option of {generator_builder.__name__} or "
                f"{discriminator_builder.__name__}. Options: {', '.join(known)}. "
                f"Received: {key}={value!r}"
            )
        if to_g:
            g_options[key] = value
        if to_d:
            d_options[key] = value
    return g_options, d_options


def gan_networks(
    image_size=32,
    channels=3,
    z_dim=128,
    width=None,
    g_width=None,
    d_width=None,
    architecture="resnet",
    spectral_norm=True,
    generator_options=None,
    discriminator_options=None,
    **network_options,
):
    """A generator `z (B, z_dim) -> images` and a discriminator of those images.

    Args:
        image_size: output / input resolution (the builders check it).
        channels: image channels (3 RGB, 1 grey).
        z_dim: latent size.
        width, g_width, d_width: network widths (see `gan_widths`).
        architecture: "resnet" (compare_gan's ResNets) or "dcgan".
        spectral_norm: spectral norm in the discriminator.
        generator_options, discriminator_options: options for one network
            only (e.g. `{"normalization": "self_modulated"}` for G,
            `{"rotation_head": True}` for D).
        **network_options: any other option of the builders (`style`,
            `attention_resolution`, `num_classes`, `pooling`, ...), routed to
            the builder(s) that name it.

    Returns:
        `(generator, discriminator)`, two functional `keras.Model`s.

    Example:

    >>> g, d = gan_networks(32, channels=1, z_dim=16, width=8, style="resnet5")
    >>> tuple(g.output.shape), tuple(d.input.shape)
    ((None, 32, 32, 1), (None, 32, 32, 1))
    """
    check_choice(architecture, "architecture", tuple(ARCHITECTURES))
    z_dim = check_int(z_dim, "z_dim")
    channels = check_int(channels, "channels")
    for name, value in (("width", width), ("g_width", g_width), ("d_width", d_width)):
        check_int(value, name, allow_none=True)
    make_generator, make_discriminator = ARCHITECTURES[architecture]
    g_options, d_options = route_options(
        network_options, make_generator, make_discriminator
    )
    g_options.update(generator_options or {})
    d_options.update({"spectral_norm": spectral_norm, **(discriminator_options or {})})
    g_base, d_base = gan_widths(architecture, image_size, width, g_width, d_width)
    if g_base is not None:
        g_options["base_channels"] = g_base
    if d_base is not None:
        d_options["base_channels"] = d_base
    generator = make_generator(image_size, z_dim=z_dim, channels=channels, **g_options)
    discriminator = make_discriminator(image_size, channels=channels, **d_options)
    return generator, discriminator
