"""A whiteout-heavy image for the ``in`` benchmarks, generated offline.

Four gzip layers shaped like a Debian-minbase image that later layers
trim, as ``apt-get install`` + ``python -m venv`` + cleanup ``RUN`` steps
leave them:

1. base: about 8,000 entries (docs, man pages, locales, zoneinfo, binaries
   with hard links, libraries with symlinks, dpkg lists, ``/etc``), mostly
   small files, owners and modes as in Debian (setuid ``su``, ``tmp`` 1777);
2. packages and a venv: deletes a third of the doc directories, a quarter of
   the dpkg md5sums and hard-link targets (their links stay files), makes
   ``man3`` opaque, replaces dpkg lists and binaries, adds a venv of about
   2,000 files;
3. a 64 MiB data file (half random, half zeros);
4. cleanup: an opaque ``usr/share/locale``, every ``__pycache__`` of the
   venv and half of the time zones deleted, ``var/cache/apt`` removed.

About a third of what layers 1-2 write is gone from the final tree. File
contents are text-like (a word pool) or random (compressed files), so the
layers compress about as real ones do. Deterministic: the same bytes every
time (with the same zlib), built once and cached by ``cached_layout``.
"""

from __future__ import annotations

import io
import random
import tarfile
from collections.abc import Callable
from pathlib import Path

from bench.images import MTIME, LayoutImage, cached_layout, write_gzip_layer

NAME = "image-whiteouts-v1"
PACKAGES = 400
MAN_SECTIONS = 8
MAN_PAGES = 1_800
LOCALES = 40
LOCALE_FILES = 30
ZONE_REGIONS = 12
ZONES_PER_REGION = 50
BINARIES = 300
BINARY_LINKS = 50
LIBRARIES = 300
CONFIG_FILES = 300
VENV_PACKAGES = 60
VENV_MODULES = 15
BLOB_MIB = 64
GZIP_LEVEL = 6

_WORDS_SEED = 7


class _Layer:
    """Adds entries to one layer's tar with fixed owners, modes and mtimes."""

    def __init__(self, tar: tarfile.TarFile, rng: random.Random, pool: bytes, mtime: int) -> None:
        self.tar = tar
        self.rng = rng
        self.pool = pool
        self.mtime = mtime

    def _info(self, name: str, kind: bytes, mode: int, owner: tuple[int, int]) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = kind, mode, self.mtime
        info.uid, info.gid = owner
        info.uname = info.gname = ""
        return info

    def directory(self, name: str, mode: int = 0o755, owner: tuple[int, int] = (0, 0)) -> None:
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, owner))

    def file(
        self, name: str, data: bytes, mode: int = 0o644, owner: tuple[int, int] = (0, 0)
    ) -> None:
        info = self._info(name, tarfile.REGTYPE, mode, owner)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))

    def symlink(self, name: str, target: str) -> None:
        info = self._info(name, tarfile.SYMTYPE, 0o777, (0, 0))
        info.linkname = target
        self.tar.addfile(info)

    def hardlink(self, name: str, target: str) -> None:
        info = self._info(name, tarfile.LNKTYPE, 0o755, (0, 0))
        info.linkname = target
        self.tar.addfile(info)

    def whiteout(self, path: str) -> None:
        parent, _, base = path.rpartition("/")
        marker = f"{parent}/.wh.{base}" if parent else f".wh.{base}"
        self.tar.addfile(self._info(marker, tarfile.REGTYPE, 0o644, (0, 0)))

    def opaque(self, directory: str) -> None:
        self.tar.addfile(self._info(f"{directory}/.wh..wh..opq", tarfile.REGTYPE, 0o644, (0, 0)))

    def text(self, low: int, high: int) -> bytes:
        """Text-like bytes (compress about 3:1)."""
        size = self.rng.randint(low, high)
        start = self.rng.randrange(len(self.pool) - size)
        return self.pool[start : start + size]

    def noise(self, low: int, high: int) -> bytes:
        """Incompressible bytes (already compressed files)."""
        return self.rng.randbytes(self.rng.randint(low, high))

    def binary(self, low: int, high: int) -> bytes:
        """Half random, half zeros per 4 KiB: compresses about 2:1."""
        size = self.rng.randint(low, high)
        blocks = [self.rng.randbytes(2048) + bytes(2048) for _ in range(size // 4096 + 1)]
        return b"".join(blocks)[:size]


def _word_pool() -> bytes:
    rng = random.Random(_WORDS_SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(3_000)]
    lines = [" ".join(rng.choices(words, k=rng.randint(4, 12))) for _ in range(40_000)]
    return "\n".join(lines).encode()


def _base(layer: _Layer) -> None:
    for name in ("etc", "etc/apt", "usr", "usr/bin", "usr/sbin", "usr/lib", "usr/share"):
        layer.directory(name)
    layer.symlink("bin", "usr/bin")
    layer.symlink("lib", "usr/lib")
    layer.directory("root", 0o700)
    layer.directory("tmp", 0o1777)
    layer.directory("usr/lib/x86_64-linux-gnu")
    layer.directory("usr/share/doc")
    for number in range(CONFIG_FILES):
        layer.file(f"etc/config{number}.conf", layer.text(100, 2_000))
    layer.file("etc/shadow", layer.text(300, 600), 0o640, (0, 42))
    layer.directory("var")
    layer.directory("var/lib")
    layer.directory("var/lib/dpkg")
    layer.directory("var/lib/dpkg/info")
    for number in range(PACKAGES):
        doc = f"usr/share/doc/pkg{number}"
        layer.directory(doc)
        layer.file(f"{doc}/copyright", layer.text(1_000, 4_000))
        layer.file(f"{doc}/changelog.Debian.gz", layer.noise(500, 3_000))
        layer.file(f"var/lib/dpkg/info/pkg{number}.list", layer.text(200, 2_000))
        layer.file(f"var/lib/dpkg/info/pkg{number}.md5sums", layer.text(200, 2_000))
    layer.directory("usr/share/man")
    for section in range(1, MAN_SECTIONS + 1):
        layer.directory(f"usr/share/man/man{section}")
    for number in range(MAN_PAGES):
        section = number % MAN_SECTIONS + 1
        layer.file(f"usr/share/man/man{section}/page{number}.{section}.gz", layer.noise(800, 3_000))
    layer.directory("usr/share/locale")
    for language in range(LOCALES):
        layer.directory(f"usr/share/locale/l{language}")
        layer.directory(f"usr/share/locale/l{language}/LC_MESSAGES")
        for number in range(LOCALE_FILES):
            path = f"usr/share/locale/l{language}/LC_MESSAGES/pkg{number}.mo"
            layer.file(path, layer.text(2_000, 12_000))
    layer.directory("usr/share/zoneinfo")
    for region in range(ZONE_REGIONS):
        layer.directory(f"usr/share/zoneinfo/region{region}")
        for zone in range(ZONES_PER_REGION):
            layer.file(f"usr/share/zoneinfo/region{region}/zone{zone}", layer.noise(100, 2_500))
    for number in range(BINARIES):
        layer.file(f"usr/bin/tool{number}", layer.binary(8_000, 120_000), 0o755)
    layer.file("usr/bin/su", layer.binary(60_000, 70_000), 0o4755)
    for number in range(BINARY_LINKS):
        layer.hardlink(f"usr/bin/alias{number}", f"usr/bin/tool{number * 3}")
    for number in range(LIBRARIES):
        name = f"usr/lib/x86_64-linux-gnu/lib{number}.so.1.0.0"
        layer.file(name, layer.binary(10_000, 250_000))
        layer.symlink(f"usr/lib/x86_64-linux-gnu/lib{number}.so.1", f"lib{number}.so.1.0.0")
    layer.directory("var/cache")
    layer.directory("var/cache/apt")
    for number in range(40):
        data = layer.noise(5_000, 40_000)
        layer.file(f"var/cache/apt/archive{number}.bin", data, 0o644, (100, 102))


def _packages_and_venv(layer: _Layer) -> None:
    for number in range(0, PACKAGES, 3):
        layer.whiteout(f"usr/share/doc/pkg{number}")
    for number in range(1, PACKAGES, 4):
        layer.whiteout(f"var/lib/dpkg/info/pkg{number}.md5sums")
    for number in range(2, PACKAGES, 5):
        layer.file(f"var/lib/dpkg/info/pkg{number}.list", layer.text(200, 2_000))
    # hard-link targets deleted (their links stay files) and replaced
    for number in range(0, BINARY_LINKS * 3, 6):
        layer.whiteout(f"usr/bin/tool{number}")
    for number in range(3, BINARY_LINKS * 3, 6):
        layer.file(f"usr/bin/tool{number}", layer.binary(8_000, 60_000), 0o755)
    layer.directory("usr/share/man/man3", 0o755)
    layer.opaque("usr/share/man/man3")
    for number in range(20):
        layer.file(f"usr/share/man/man3/new{number}.3.gz", layer.noise(800, 3_000))
    layer.directory("opt")
    venv = "opt/venv/lib/python3.11/site-packages"
    for parent in ("opt/venv", "opt/venv/lib", "opt/venv/lib/python3.11", venv):
        layer.directory(parent)
    for package in range(VENV_PACKAGES):
        layer.directory(f"{venv}/pkg{package}")
        layer.directory(f"{venv}/pkg{package}/__pycache__")
        for module in range(VENV_MODULES):
            layer.file(f"{venv}/pkg{package}/mod{module}.py", layer.text(500, 10_000))
            cached = f"{venv}/pkg{package}/__pycache__/mod{module}.cpython-311.pyc"
            layer.file(cached, layer.binary(500, 12_000))


def _data(layer: _Layer) -> None:
    layer.directory("opt/data")
    size = BLOB_MIB * 1024 * 1024
    layer.file("opt/data/model.bin", layer.binary(size, size))


def _cleanup(layer: _Layer) -> None:
    layer.directory("usr/share/locale", 0o755)
    layer.opaque("usr/share/locale")
    layer.directory("usr/share/locale/en")
    layer.file("usr/share/locale/en/README", layer.text(100, 500))
    venv = "opt/venv/lib/python3.11/site-packages"
    for package in range(VENV_PACKAGES):
        layer.whiteout(f"{venv}/pkg{package}/__pycache__")
    for region in range(0, ZONE_REGIONS, 2):
        layer.whiteout(f"usr/share/zoneinfo/region{region}")
    layer.whiteout("var/cache/apt")
    layer.directory("usr/share/doc", 0o750)
    for number in range(20):
        layer.file(f"etc/config{number}.conf", layer.text(100, 2_000))


STEPS: tuple[Callable[[_Layer], None], ...] = (_base, _packages_and_venv, _data, _cleanup)


def write_whiteout_layout(cache: Path) -> LayoutImage:
    """The whiteout-heavy image's layout under ``cache`` (built once)."""

    def write_layers(blobs: Path) -> list[tuple[dict[str, object], str]]:
        pool = _word_pool()
        layers = []
        for number, step in enumerate(STEPS, start=1):
            rng = random.Random(1_000 + number)

            def fill(
                tar: tarfile.TarFile,
                step: Callable[[_Layer], None] = step,
                rng: random.Random = rng,
                mtime: int = MTIME + number * 86_400,
            ) -> None:
                step(_Layer(tar, rng, pool, mtime))

            layers.append(write_gzip_layer(blobs, number, fill, level=GZIP_LEVEL))
        return layers

    return cached_layout(cache, NAME, write_layers)
