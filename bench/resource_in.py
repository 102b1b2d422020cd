"""``in`` as the CLI runs it, but with a chosen number of layer downloads.

    python -m bench.resource_in --workers N DEST < request.json

The same request parsing, plugins and ``get`` as ``python -m
registry_image.resource in DEST``; only ``layer_workers`` differs (``1``:
one download after another, no prefetch) and progress bars are off, as for
``skopeo --quiet``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from registry_image.core.converter import parse_request, unstructure
from registry_image.core.fetch import DEFAULT_LAYER_WORKERS
from registry_image.core.models import InRequest
from registry_image.core.plugins import load_plugins
from registry_image.resource.get import get


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.resource_in", description=__doc__)
    parser.add_argument("--workers", type=int, default=DEFAULT_LAYER_WORKERS)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    request = parse_request(sys.stdin.read(), InRequest)
    response = get(request, args.dest, load_plugins(), layer_workers=args.workers)
    print(json.dumps(unstructure(response)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
