"""`keras-ssl sample PRESET_OR_CHECKPOINT --num 64 --out grid.png`."""

import keras
import numpy as np

from keras_ssl.zoo.targets import add_target_arguments, load_target_from_args


def register(subparsers):
    parser = subparsers.add_parser(
        "sample",
        help="write a grid of generated images to a PNG file",
        description=(
            "Generate images with a GAN preset or a trained generator and save "
            "them as one grid image."
        ),
    )
    add_target_arguments(parser)
    parser.add_argument("--num", type=int, default=64, help="number of images")
    parser.add_argument("--out", default="grid.png", help="output PNG path")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument(
        "--label",
        type=int,
        action="append",
        default=None,
        help="class of every image (repeat for several classes, cycled); "
        "class-conditional generators only",
    )
    parser.add_argument("--columns", type=int, default=None, help="grid columns")
    parser.set_defaults(func=run)


def generate(model, num, labels=None, seed=0):
    """uint8 images (num, H, W, C) from a method model or a bare generator."""
    if num < 1:
        raise ValueError(f"--num must be positive. Received: num={num}")
    if labels is not None:
        labels = np.resize(np.asarray(labels, "int32"), num)
    if callable(getattr(model, "generate", None)):
        if labels is None:
            return np.asarray(model.generate(num, seed=seed))
        return np.asarray(model.generate(num, labels=labels, seed=seed))
    if isinstance(getattr(model, "generator", None), keras.Model):
        model = model.generator
    inputs = getattr(model, "inputs", None) or []
    if not inputs or len(inputs[0].shape) != 2:
        raise ValueError(
            "The model cannot generate images: it has no generate() and is not a "
            f"generator taking noise. Received: {type(model).__name__}"
        )
    noise = np.random.default_rng(seed).normal(size=(num, inputs[0].shape[1]))
    feed = [noise.astype("float32")]
    if len(inputs) == 2:
        if labels is None:
            raise ValueError("This generator is class-conditional; pass --label.")
        feed.append(labels)
    images = np.asarray(model.predict(feed if len(feed) > 1 else feed[0], verbose=0))
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


def run(args):
    from keras_ssl.training.callbacks.sample_grid import save_image_grid

    model = load_target_from_args(args)
    images = generate(model, args.num, labels=args.label, seed=args.seed)
    save_image_grid(images, args.out, columns=args.columns)
    print(f"wrote {images.shape[0]} images to {args.out}")
    return 0
