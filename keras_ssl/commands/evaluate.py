"""`keras-ssl evaluate PRESET_OR_CHECKPOINT --metric fid|kid|is|linear_probe|knn`.

Generative metrics use the FID Inception network by default (the network of
published FIDs; its converted weights must be cached, or pass pytorch-fid's
weights file once with `--fid-weights`); `--extractor domain` works offline
without any download; `--save-stats` precomputes the reference statistics of
a data split.
"""

import json
import os

import yaml

from keras_ssl.zoo.targets import add_target_arguments, load_target_from_args

METRICS = ("fid", "kid", "is", "linear_probe", "knn")
GENERATIVE = ("fid", "kid", "is")
EXTRACTOR_CHOICES = ("fid_inception", "inception_keras", "domain")


def register(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="FID / KID / IS of a generator, or linear-probe / kNN accuracy",
        description=(
            "Generative metrics compare generated images with a data split in "
            "the features of an extractor: 'fid_inception' (default; the FID "
            "Inception network of published numbers, from pytorch-fid's "
            "weights file, converted once with torch and cached), "
            "'inception_keras' (Keras' InceptionV3, downloaded by Keras; not "
            "comparable with papers) or 'domain' (a small classifier trained "
            "on --data's train split: offline, on its own scale). "
            "Representation metrics train a linear classifier (or run a kNN) "
            "on the frozen features of the model's encoder (a GAN's "
            "discriminator trunk). Prints JSON; --out also writes it."
        ),
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--metric",
        choices=METRICS,
        default=None,
        help="default: fid for generators, linear_probe otherwise (is: the "
        "Inception Score of the generated images)",
    )
    parser.add_argument(
        "--data", default=None, help="data source (default: the preset's recipe data)"
    )
    parser.add_argument("--split", default="test", help="evaluation split")
    parser.add_argument(
        "--train-split",
        default="train",
        help="split for the probe / kNN / domain extractor",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="examples per split (seeded subset)"
    )
    parser.add_argument(
        "--num-samples",
        type=int,
        default=10000,
        help="generated images for fid / kid / is",
    )
    parser.add_argument(
        "--extractor",
        choices=EXTRACTOR_CHOICES,
        default="fid_inception",
        help="features for fid / kid / is (default: fid_inception)",
    )
    parser.add_argument(
        "--fid-weights",
        default="default",
        metavar="PATH",
        help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth (converted "
        "once, needs torch that once, then cached), or converted .weights.h5; "
        "default: the cached conversion",
    )
    parser.add_argument(
        "--download-fid-weights",
        action="store_true",
        help="download pytorch-fid's weights file when nothing is cached",
    )
    parser.add_argument(
        "--reference-stats",
        default=None,
        metavar="PATH",
        help="reference statistics (.npz from --save-stats) instead of --split",
    )
    parser.add_argument(
        "--save-stats",
        default=None,
        metavar="PATH",
        help="only compute the statistics of --data's --split (all of it, or "
        "--limit) in the extractor's features and save them (.npz)",
    )
    parser.add_argument(
        "--keep-features",
        type=int,
        default=10000,
        help="raw feature rows kept in --save-stats files (KID needs them)",
    )
    parser.add_argument("--epochs", type=int, default=20, help="linear-probe epochs")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the JSON here")
    parser.set_defaults(func=run)


def _data_source(args):
    if args.data:
        return args.data
    from keras_ssl import zoo

    if args.target in zoo.list_presets():
        return zoo.get_preset(args.target).recipe["data"].get("source")
    run_data = _run_data(args.target)
    if run_data.get("source"):
        return run_data["source"]
    raise ValueError(
        "--data is needed when the model is neither a preset nor a training run "
        "folder. "
        f"Received: target={args.target!r} without --data"
    )


def _run_data(target):
    """The `data` section of a training run folder's config.yaml, or {}."""
    path = os.path.join(target, "config.yaml")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return (yaml.safe_load(handle) or {}).get("data") or {}


def _image_shape(model, target):
    from keras_ssl import zoo

    if target in zoo.list_presets():
        preset = zoo.get_preset(target)
        return preset.image_size, preset.channels
    run_data = _run_data(target)
    if run_data.get("image_size") and run_data.get("channels"):
        return run_data["image_size"], run_data["channels"]
    for candidate in (getattr(model, "generator", None), model):
        shape = getattr(candidate, "output_shape", None)
        if shape is not None and len(shape) == 4:
            return shape[1], shape[3]
    for name in ("discriminator", "encoder"):
        shape = getattr(getattr(model, name, None), "input_shape", None)
        if isinstance(shape, list):
            shape = shape[0]
        if shape is not None and len(shape) == 4:
            return shape[1], shape[3]
    return None, None


def _extractor(args, source, load):
    """The extractor named by --extractor (built before any data is read)."""
    from keras_ssl import data, evaluation

    if args.extractor == "fid_inception":
        return evaluation.fid_inception_extractor(
            args.fid_weights, download=args.download_fid_weights
        )
    if args.extractor == "inception_keras":
        return evaluation.inception_extractor()
    classifier = evaluation.train_domain_classifier(
        data.load(
            source,
            split=args.train_split,
            batch_size=128,
            limit=args.limit,
            **load,
        ),
        seed=args.seed,
    )
    return evaluation.domain_extractor(classifier)


def _save_stats(model, source, args):
    from keras_ssl import data, evaluation

    image_size, channels = _image_shape(model, args.target)
    load = dict(image_size=image_size, channels=channels, seed=args.seed)
    extractor = _extractor(args, source, load)
    images = data.load(
        source,
        split=args.split,
        batch_size=args.batch_size,
        limit=args.limit,
        labeled=False,
        **load,
    )
    stats = evaluation.compute_statistics(
        images,
        extractor,
        batch_size=args.batch_size,
        keep_features=args.keep_features,
        seed=args.seed,
    )
    stats.save(args.save_stats)
    return {
        "saved_stats": os.path.abspath(args.save_stats),
        "count": stats.count,
        "dim": stats.dim,
        "extractor": stats.extractor or args.extractor,
        "image_size": image_size,
    }


def evaluate(model, metric, source, args):
    """The metric as a JSON-ready dict."""
    from keras_ssl import data, evaluation

    image_size, channels = _image_shape(model, args.target)
    load = dict(image_size=image_size, channels=channels, seed=args.seed)
    if metric in GENERATIVE:
        if not callable(getattr(model, "generate", None)):
            raise ValueError(
                f"--metric {metric} needs a generator (a model with generate()). "
                f"Received: {type(model).__name__}"
            )
        extractor = _extractor(args, source, load)
        common = dict(
            num_samples=args.num_samples, batch_size=args.batch_size, seed=args.seed
        )
        if metric == "is":
            mean, std = evaluation.inception_score_of(model, extractor, **common)
            value = {"mean": float(mean), "std": float(std)}
        else:
            if args.reference_stats:
                reference = evaluation.FeatureStatistics.load(args.reference_stats)
            else:
                reference = data.load(
                    source,
                    split=args.split,
                    batch_size=args.batch_size,
                    limit=args.limit,
                    labeled=False,
                    **load,
                )
            function = evaluation.fid if metric == "fid" else evaluation.kid
            value = function(model, reference, extractor, **common)
            if metric == "kid":
                value = {"mean": float(value[0]), "std": float(value[1])}
        return {
            metric: value,
            "extractor": evaluation.extractor_id(extractor) or args.extractor,
            "num_samples": args.num_samples,
        }
    from keras_ssl.zoo import feature_extractor

    encoder = feature_extractor(
        model, None if image_size is None else (image_size, image_size, channels)
    )
    train = data.load(
        source,
        split=args.train_split,
        batch_size=args.batch_size,
        limit=args.limit,
        **load,
    )
    test = data.load(
        source, split=args.split, batch_size=args.batch_size, limit=args.limit, **load
    )
    if metric == "knn":
        return {"knn_accuracy": evaluation.knn_accuracy(encoder, train, test)}
    return {
        "linear_probe": evaluation.linear_probe(
            encoder, train, test, epochs=args.epochs, seed=args.seed
        )
    }


def run(args):
    try:
        return _run(args)
    except ImportError as error:
        # torch, needed once to convert the FID weights: a message, no traceback.
        raise ValueError(str(error)) from error


def _run(args):
    model = load_target_from_args(args)
    if args.save_stats:
        result = _save_stats(model, _data_source(args), args)
    else:
        metric = args.metric or (
            "fid" if callable(getattr(model, "generate", None)) else "linear_probe"
        )
        result = evaluate(model, metric, _data_source(args), args)
    result.update(
        {
            "target": args.target,
            "data": _data_source(args),
            "split": args.split if not args.reference_stats else None,
            "reference_stats": args.reference_stats,
            "limit": args.limit,
        }
    )
    text = json.dumps(result, indent=2, default=float)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 0
