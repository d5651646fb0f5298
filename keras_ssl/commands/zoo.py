"""`keras-ssl zoo list|info NAME`: the presets of the model zoo."""

import json

from keras_ssl import zoo


def register(subparsers):
    parser = subparsers.add_parser(
        "zoo",
        help="list the model zoo's presets or describe one",
        description=(
            "Presets are named configurations of a method (<method>_<dataset>) "
            "with their training recipe and, where published, their weights. "
            "Load one in Python with keras_ssl.zoo.load(NAME)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="one line per preset: name, method, weights available or not",
        description="List the presets, one line each.",
    )
    listing.add_argument("--method", default=None, help="only this method's presets")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)
    details = actions.add_parser(
        "info",
        help="method, paper, architecture, input spec, results and weights",
        description="Describe one preset.",
    )
    details.add_argument("name", metavar="NAME", help="a preset name")
    details.add_argument("--json", action="store_true", help="print JSON")
    details.set_defaults(func=run_info)


def run_list(args):
    names = zoo.list_presets(method=args.method)
    rows = [zoo.info(name) for name in names]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max([len(name) for name in names] + [6])
    print(f"{'preset':<{width}}  {'method':<20} {'size':>5}  weights  description")
    for row in rows:
        weights = "yes" if row["weights_available"] else "no"
        size = row["input_spec"]["image_size"]
        print(
            f"{row['name']:<{width}}  {row['method']:<20} {size:>5}  {weights:<7}  "
            f"{row['description']}"
        )
    return 0


def run_info(args):
    details = zoo.info(args.name)
    if args.json:
        print(json.dumps(details, indent=2))
        return 0
    spec = details["input_spec"]
    lines = [
        details["name"],
        f"  description:   {details['description']}",
        f"  method:        {details['method']}"
        + ("" if details["method_available"] else " (not available here)"),
        f"  paper:         {details['paper']}",
        f"  architecture:  {details['architecture']}",
        f"  dataset:       {details['dataset']}",
        f"  input:         {spec['images']}"
        + (f", {spec['num_classes']} classes" if spec["num_classes"] else ""),
        f"  config:        {json.dumps(details['method_config'])}",
        f"  recipe:        {details['recipe']}",
        f"  train:         {details['train_command']}",
    ]
    if details["weights_available"]:
        lines.append(f"  weights:       {json.dumps(details['weights'])}")
    else:
        lines.append("  weights:       none published (train with the command above)")
    if details["results"]:
        lines.append("  results:")
        for key, value in details["results"].items():
            lines.append(f"    {key}: {json.dumps(value)}")
    print("\n".join(lines))
    return 0
