"""`keras-ssl data info SOURCE`: what a data source holds."""

from keras_ssl import data


def register(subparsers):
    parser = subparsers.add_parser("data", help="inspect data sources")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser(
        "info",
        help="print the number of examples, classes and image shape of a source",
        description=(
            "SOURCE is a TFDS name (cifar10, ...), a folder or .zip archive in "
            "<split>/<class>/<image> layout, or 'digits'."
        ),
    )
    info.add_argument("source")
    info.add_argument("--split", default="train")
    info.add_argument("--data-dir", default=None, help="TFDS data directory")
    info.set_defaults(func=run_info)


def run_info(args):
    print(data.info(args.source, split=args.split, data_dir=args.data_dir).summary())
    return 0
