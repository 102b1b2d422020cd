"""The fast paths under the tar reader: forward-only seeking and the
common-header parser, which must agree with ``tarfile`` exactly."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_image.core.unpack.tarstream import ForwardReader, _byte_sum, _Numbers, parse_header


class _Chunks:
    """A stream returning at most ``size`` bytes per read."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = io.BytesIO(data)
        self._size = size

    def read(self, n: int = -1, /) -> bytes:
        return self._data.read(self._size if n < 0 else min(n, self._size))


@given(
    data=st.binary(max_size=3000),
    head=st.integers(0, 600),
    chunk=st.integers(1, 700),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 900)), max_size=12),
)
def test_forward_reader_reads_and_seeks_like_a_file(
    data: bytes, head: int, chunk: int, steps: list[tuple[bool, int]]
) -> None:
    head = min(head, len(data))
    reader = ForwardReader(data[:head], _Chunks(data[head:], chunk))
    expected = io.BytesIO(data)
    for is_seek, amount in steps:
        if is_seek:
            target = reader.tell() + amount
            assert reader.seek(target) == min(target, len(data))
            expected.seek(min(target, len(data)))
        else:
            assert reader.read(amount) == expected.read(amount)
        assert reader.tell() == expected.tell()
    assert reader.read() == expected.read()


def test_forward_reader_refuses_to_seek_back() -> None:
    reader = ForwardReader(b"abcdef", _Chunks(b"", 1))
    reader.read(4)
    with pytest.raises(OSError, match="forward"):
        reader.seek(2)
    with pytest.raises(OSError, match="forward"):
        reader.seek(0, io.SEEK_END)
    assert reader.read() == b"ef"


def _header(info: tarfile.TarInfo, fmt: int) -> bytes:
    return info.tobuf(fmt, "utf-8", "surrogateescape")[-tarfile.BLOCKSIZE :]


def _sample_headers() -> list[bytes]:
    headers = []
    for kind in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE):
        info = tarfile.TarInfo("usr/share/doc/a-package/" + "x" * 40)
        info.type, info.size, info.mode = kind, 1234, 0o4755
        info.uid, info.gid, info.mtime, info.linkname = 1000, 100, 1_700_000_000, "target"
        info.uname, info.gname = "user", "group"
        for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT):
            headers.append(_header(info, fmt))
    long_name = tarfile.TarInfo("a/" * 60 + "file")  # split into prefix + name by ustar
    headers.append(_header(long_name, tarfile.USTAR_FORMAT))
    return headers


def _parsed(parse: object, buf: bytes) -> object:
    try:
        info = parse(tarfile.TarInfo, buf)  # type: ignore[operator]
    except Exception as exc:  # compared by type
        return type(exc)
    return None if info is None else (info.get_info(), info.chksum)


def _tarfile_parse(cls: type[tarfile.TarInfo], buf: bytes) -> tarfile.TarInfo:
    return cls.frombuf(buf, "utf-8", "surrogateescape")


def _fast_parse(cls: type[tarfile.TarInfo], buf: bytes) -> tarfile.TarInfo | None:
    return parse_header(cls, buf, "utf-8", "surrogateescape")


@settings(max_examples=1000)
@given(
    base=st.sampled_from(_sample_headers()),
    changes=st.lists(
        st.tuples(st.integers(0, tarfile.BLOCKSIZE - 1), st.integers(0, 255)), max_size=4
    ),
    fix_checksum=st.booleans(),
)
def test_the_fast_header_parser_agrees_with_tarfile(
    base: bytes, changes: list[tuple[int, int]], fix_checksum: bool
) -> None:
    block = bytearray(base)
    for position, value in changes:
        block[position] = value
    if fix_checksum:
        block[148:156] = b" " * 8
        block[148:156] = b"%06o\0 " % sum(block)
    buf = bytes(block)
    fast = _parsed(_fast_parse, buf)
    if fast is not None:  # None: tarfile parses it (or refuses it)
        assert fast == _parsed(_tarfile_parse, buf)


def test_the_fast_header_parser_takes_the_common_headers() -> None:
    for buf in _sample_headers():
        parsed = _parsed(_fast_parse, buf)
        assert parsed is not None
        assert parsed == _parsed(_tarfile_parse, buf)
    assert parse_header(tarfile.TarInfo, bytes(512), "utf-8", "strict") is None  # end marker


@given(st.binary(min_size=tarfile.BLOCKSIZE, max_size=tarfile.BLOCKSIZE))
def test_the_block_sum_is_the_sum_of_the_bytes(block: bytes) -> None:
    assert _byte_sum(block) == sum(block)


def test_the_block_sum_is_exact_at_its_extremes() -> None:
    # Each half's sum reaches 65,280, just under Adler-32's modulus (65,521).
    for block in (bytes(512), b"\xff" * 512, b"\xff" * 256 + bytes(256), bytes(255) + b"\xff"):
        block = block.ljust(512, b"\0")
        assert _byte_sum(block) == sum(block)


def test_the_number_cache_is_bounded_and_never_keeps_an_error() -> None:
    numbers = _Numbers()
    for value in range(_Numbers.LIMIT + 100):
        assert numbers[b"%07o\0" % value] == value
    assert len(numbers) == _Numbers.LIMIT
    with pytest.raises(ValueError):
        numbers[b"\x80" + bytes(7)]  # base-256: tarfile decides
    with pytest.raises(ValueError):
        numbers[b"0000z00\0"]
    assert b"0000z00\0" not in numbers
