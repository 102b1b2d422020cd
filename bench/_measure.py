"""Run one command; report its wall time and peak RSS.

    python -P bench/_measure.py STDIN_FILE COMMAND [ARG...]

``STDIN_FILE`` (``-`` for none) is fed to the command. One JSON object is
printed on stdout: ``seconds``, ``cpu_seconds`` (user + system time of the
command's process and the descendants it waited for, from ``wait4``),
``peak_rss_kib`` (``ru_maxrss`` from ``wait4``: the command's process, or
the largest of the descendants it waited for) and ``returncode``; the
command's stderr is passed on.

Run it as a script with ``-P``: the repository root must not be on
``sys.path``, where its ``resource/`` folder would hide the standard
library's ``resource`` module, which ``os.wait4`` needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import IO


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    stdin_path, command = argv[0], argv[1:]
    with ExitStack() as stack:
        stdin: IO[bytes] | int = subprocess.DEVNULL
        if stdin_path != "-":
            stdin = stack.enter_context(open(stdin_path, "rb"))
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stderr.close()
    sys.stderr.buffer.write(errors)
    report = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss,
        "returncode": process.returncode,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
