"""The command line: ``registry-image check|in|out [DIR]``.

Concourse's contract: one JSON request on stdin, one JSON document on
stdout, everything else (logs, progress, errors) on stderr, non-zero exit on
failure. Expected failures print one line, ``error: ...``; tracebacks only
with ``source.debug``.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from registry_image.core.errors import ResourceError

from .nesting import MAX_REQUEST_DEPTH, nested_deeper_than

USAGE = (
    "usage: registry-image check | in DEST | out SRC  (request JSON on stdin)\n"
    "       registry-image plugins                    (list the loaded plugins)"
)


def _debug_requested(text: str) -> bool:
    try:
        data = json.loads(text, parse_float=str)  # only ``debug`` is read
        return bool(data.get("source", {}).get("debug") is True)
    except (ValueError, AttributeError):
        return False


def _configure_logging(debug: bool, stream: TextIO) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("registry_image")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False


# Each command imports its own module when it runs: Concourse starts a
# process per check, and a check must not pay for importing in's and out's.


def run_check(stdin_text: str, args: Sequence[str]) -> Any:
    from registry_image.core.converter import parse_request, unstructure
    from registry_image.core.models import CheckRequest
    from registry_image.core.plugins import load_plugins

    from .check import check

    plugins = load_plugins()
    request = plugins.resolve_request(
        parse_request(stdin_text, CheckRequest, **plugins.request_keys())
    )
    return unstructure(check(request, plugins))


def run_in(stdin_text: str, args: Sequence[str]) -> Any:
    from .get import run_in as run

    return run(stdin_text, args)


def run_out(stdin_text: str, args: Sequence[str]) -> Any:
    from .put import run_out as run

    return run(stdin_text, args)


def describe_plugins() -> dict[str, Any]:
    """Which plugins are loaded, from which distribution, providing what;
    and which were blocked (``REGISTRY_IMAGE_DISABLED_PLUGINS``), never imported."""
    from registry_image.core.plugins import load_plugins

    plugins = load_plugins()
    named = sorted(plugins.manager.list_name_plugin())
    return {
        "plugins": [
            {
                "name": name,
                "module": getattr(plugin, "__name__", repr(plugin)),
                "distribution": plugins.origins.get(name),
            }
            for name, plugin in named
            if plugin is not None
        ],
        "disabled": [name for name, plugin in named if plugin is None],
        "formats": sorted(plugins.formats),
        "transports": sorted(plugins.transports),
    }


def _not_implemented(name: str) -> Callable[[str, Sequence[str]], Any]:
    def run(stdin_text: str, args: Sequence[str]) -> Any:
        raise ResourceError(f"'{name}' is not implemented yet")

    return run


COMMANDS: dict[str, Callable[[str, Sequence[str]], Any]] = {
    "check": run_check,
    "in": run_in,
    "out": run_out,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    if argv == ["plugins"]:
        try:
            json.dump(describe_plugins(), stdout, indent=2)
        except ResourceError as exc:
            print(f"error: {exc}", file=stderr)
            return 1
        stdout.write("\n")
        return 0
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=stderr)
        return 2
    command, args = argv[0], argv[1:]
    stdin_text = stdin.read()
    if nested_deeper_than(stdin_text, MAX_REQUEST_DEPTH):
        print(
            f"error: invalid request: JSON nested more than {MAX_REQUEST_DEPTH} levels deep",
            file=stderr,
        )
        return 1
    debug = _debug_requested(stdin_text)
    _configure_logging(debug, stderr)
    try:
        result = COMMANDS[command](stdin_text, args)
    except ResourceError as exc:
        if debug:
            traceback.print_exc(file=stderr)
        print(f"error: {exc}", file=stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, details with debug
        if debug:
            traceback.print_exc(file=stderr)
        print(
            f"error: internal error ({type(exc).__name__}); rerun with source.debug: true "
            "for details",
            file=stderr,
        )
        return 2
    json.dump(result, stdout)
    stdout.write("\n")
    stdout.flush()
    return 0


def console() -> int:
    """The console script and ``python -m``: ``main`` in a process that ends
    when it returns. What the command made is freed by the process's exit,
    so the garbage collection the interpreter runs as it exits is skipped
    (``gc.freeze``): it would walk every module, class and function the
    command imported, about a sixth of what a check costs beyond Python and
    requests. Files and connections are closed by then; nothing the result
    depends on waits for that collection."""
    code = main()
    gc.freeze()
    return code
