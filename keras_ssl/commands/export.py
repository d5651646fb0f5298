"""`keras-ssl export PRESET_OR_CHECKPOINT OUT_DIR`: a SavedModel for TF Serving."""

from keras_ssl.zoo.targets import add_target_arguments, load_target_from_args


def register(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="export a generator, encoder or classifier as a TF Serving SavedModel",
        description=(
            "Write OUT_DIR/<version>/ (saved_model.pb, variables/, "
            "assets.extra/tf_serving_warmup_requests) with a serving_default "
            "signature: generators take noise (and labels) and return uint8 "
            "images; encoders take uint8 images and return features; "
            "classifiers return class probabilities. See docs/serving.md."
        ),
    )
    add_target_arguments(parser)
    parser.add_argument("out_dir", metavar="OUT_DIR", help="TF Serving model base path")
    parser.add_argument("--version", type=int, default=1, help="version folder")
    parser.add_argument(
        "--signature",
        default="auto",
        choices=["auto", "generator", "encoder", "classifier"],
        help="what to serve; auto: a GAN's generator, else the encoder",
    )
    parser.add_argument(
        "--model-name", default="model", help="model name in the warm-up requests"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing version"
    )
    parser.set_defaults(func=run)


def run(args):
    from keras_ssl.export import export_saved_model

    model = load_target_from_args(args)
    path = export_saved_model(
        model,
        args.out_dir,
        version=args.version,
        signature=args.signature,
        model_name=args.model_name,
        overwrite=args.overwrite,
    )
    print(f"exported to {path}")
    return 0
