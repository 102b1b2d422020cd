"""The layer applier's semantics, entry type by entry type (no registry needed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from registry_image.core.errors import ImageError
from registry_image.testing.oci_builder import Entry

from tests.get.helpers import PRIVILEGED, links, mode_of, snapshot, unpack


def test_files_dirs_and_metadata(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [
                Entry.dir("etc", 0o751, mtime=1000),
                Entry.file("etc/hosts", b"127.0.0.1 localhost\n", 0o644, mtime=2000),
                Entry.file("etc/odd", b"x", 0o603, mtime=86400),  # an old mtime, odd mode
                Entry.dir("tmp", 0o1777, mtime=3000),
            ]
        ],
    )
    tree = snapshot(tmp_path)
    assert tree["etc"].mode == 0o751 and tree["etc"].mtime == 1000
    assert tree["etc/hosts"].sha256 is not None and tree["etc/hosts"].size == 20
    assert (tmp_path / "etc/hosts").read_bytes() == b"127.0.0.1 localhost\n"
    assert tree["etc/hosts"].mtime == 2000
    assert (tree["etc/odd"].mode, tree["etc/odd"].mtime) == (0o603, 86400)
    assert tree["tmp"].mode == 0o1777


def test_directory_mtime_survives_children_written_later(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [Entry.dir("d", mtime=1000), Entry.file("d/a", mtime=5)],
            [Entry.file("d/b"), Entry.whiteout("d/a"), Entry.dir("d/sub", mtime=7)],
        ],
    )
    assert snapshot(tmp_path)["d"].mtime == 1000
    assert sorted(os.listdir(tmp_path / "d")) == ["b", "sub"]


@pytest.mark.root("owners other than the caller")
def test_ownership_then_mode_keeps_setuid_and_setgid(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [
                Entry.dir("usr", uid=0, gid=0),
                Entry.file("usr/passwd", b"\x7fELF", 0o4755, uid=0, gid=0),
                Entry.file("usr/wall", b"\x7fELF", 0o2755, uid=0, gid=5),
                Entry.file("usr/mine", b"m", 0o4750, uid=1000, gid=1000),
                Entry.dir("usr/mail", 0o2775, uid=8, gid=8),
            ]
        ],
    )
    tree = snapshot(tmp_path, with_owner=True)
    assert tree["usr/passwd"].mode == 0o4755
    assert (tree["usr/wall"].mode, tree["usr/wall"].gid) == (0o2755, 5)
    assert (tree["usr/mine"].mode, tree["usr/mine"].uid, tree["usr/mine"].gid) == (
        0o4750,
        1000,
        1000,
    )
    assert (tree["usr/mail"].mode, tree["usr/mail"].uid) == (0o2775, 8)


def test_unprivileged_skips_owners_and_devices_and_keeps_modes(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [
                Entry.dir("ro", 0o555),
                Entry.file("ro/f", b"x", 0o4755, uid=1000),
                Entry.chardev("null", 1, 3),
            ],
            [Entry.file("ro/g", b"y")],  # a later layer writes into the read-only dir
        ],
        privileged=False,
    )
    assert not (tmp_path / "null").exists()
    assert mode_of(tmp_path / "ro") == 0o555
    assert (tmp_path / "ro/g").read_bytes() == b"y"
    assert (tmp_path / "ro/f").stat().st_uid == os.geteuid()


@pytest.mark.parametrize("privileged", [True, False] if PRIVILEGED else [False])
def test_fifos_are_made_and_devices_never(tmp_path: Path, privileged: bool) -> None:
    unpack(
        tmp_path,
        [[Entry.chardev("null", 1, 3, 0o666), Entry.fifo("pipe", 0o640)]],
        privileged=privileged,
    )
    tree = snapshot(tmp_path)
    assert "null" not in tree
    assert (tree["pipe"].kind, tree["pipe"].mode) == ("fifo", 0o640)


def test_symlinks_are_created_as_written(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [
                Entry.symlink("abs", "/etc/passwd", mtime=1234),
                Entry.symlink("rel", "../../../../outside"),
                Entry.symlink("dangling", "nowhere"),
            ]
        ],
    )
    assert os.readlink(tmp_path / "abs") == "/etc/passwd"
    assert os.readlink(tmp_path / "rel") == "../../../../outside"
    assert os.lstat(tmp_path / "abs").st_mtime == 1234


def test_symlink_replaced_by_file_never_writes_through(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [Entry.file("target", b"original"), Entry.symlink("link", "target")],
            [Entry.file("link", b"replacement", 0o600)],
        ],
    )
    assert (tmp_path / "target").read_bytes() == b"original"
    assert not (tmp_path / "link").is_symlink()
    assert (tmp_path / "link").read_bytes() == b"replacement"


def test_replacement_unless_both_are_directories(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [Entry.dir("d", 0o700), Entry.file("d/keep"), Entry.dir("x"), Entry.file("x/gone")],
            [Entry.dir("d", 0o755, mtime=99), Entry.file("x", b"now a file")],
            [Entry.symlink("d/keep", "elsewhere")],
        ],
    )
    assert mode_of(tmp_path / "d") == 0o755
    assert os.readlink(tmp_path / "d/keep") == "elsewhere"
    assert (tmp_path / "x").read_bytes() == b"now a file"


def test_a_directory_replaces_a_symlink_to_a_directory(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [Entry.dir("real"), Entry.file("real/f"), Entry.symlink("lib", "real")],
            [Entry.dir("lib"), Entry.file("lib/g")],
        ],
    )
    assert (tmp_path / "lib").is_dir() and not (tmp_path / "lib").is_symlink()
    assert sorted(os.listdir(tmp_path / "lib")) == ["g"]
    assert sorted(os.listdir(tmp_path / "real")) == ["f"]


def test_parents_resolve_through_symlinks_inside_the_root(tmp_path: Path) -> None:
    # merged /usr: bin -> usr/bin, then a later layer writes bin/sh
    unpack(
        tmp_path,
        [
            [Entry.dir("usr"), Entry.dir("usr/bin"), Entry.symlink("bin", "usr/bin")],
            [Entry.file("bin/sh", b"#!"), Entry.symlink("abs", "/usr"), Entry.file("abs/x", b"x")],
        ],
    )
    assert (tmp_path / "usr/bin/sh").read_bytes() == b"#!"
    assert (tmp_path / "usr/x").read_bytes() == b"x"
    assert os.path.islink(tmp_path / "bin")


def test_whiteouts_remove_lower_files_and_directories(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [
                Entry.dir("a"),
                Entry.file("a/f"),
                Entry.dir("a/sub"),
                Entry.file("a/sub/g"),
                Entry.file("top"),
            ],
            [
                Entry.whiteout("a/f"),
                Entry.whiteout("a/sub"),
                Entry.whiteout("top"),
                Entry.whiteout("missing"),
            ],
        ],
    )
    assert os.listdir(tmp_path / "a") == []
    assert not (tmp_path / "top").exists()
    assert not any(name.startswith(".wh.") for name in os.listdir(tmp_path))


def test_whiteout_spares_what_the_same_layer_wrote(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [Entry.dir("d"), Entry.file("d/lower")],
            [
                Entry.dir("d"),
                Entry.file("d/upper"),
                Entry.whiteout("d"),
                Entry.file("f"),
                Entry.whiteout("f"),
            ],
        ],
    )
    assert sorted(os.listdir(tmp_path / "d")) == ["upper"]
    assert (tmp_path / "f").exists()


@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_opaque_directory_whatever_its_position(tmp_path: Path, position: str) -> None:
    upper = [
        Entry.dir("d", 0o750),
        Entry.file("d/new"),
        Entry.dir("d/keep"),
        Entry.file("d/keep/n2"),
    ]
    marker = Entry.opaque("d")
    layer = {
        "first": [marker, *upper],
        "middle": [*upper[:2], marker, *upper[2:]],
        "last": [*upper, marker],
    }[position]
    unpack(
        tmp_path,
        [
            [
                Entry.dir("d"),
                Entry.file("d/old"),
                Entry.dir("d/keep"),
                Entry.file("d/keep/o2"),
                Entry.file("other"),
            ],
            layer,
        ],
    )
    assert sorted(os.listdir(tmp_path / "d")) == ["keep", "new"]
    assert sorted(os.listdir(tmp_path / "d/keep")) == ["n2"]
    assert mode_of(tmp_path / "d") == 0o750
    assert (tmp_path / "other").exists()


def test_opaque_marker_for_a_missing_directory_is_harmless(tmp_path: Path) -> None:
    unpack(tmp_path, [[Entry.file("f")], [Entry.opaque("nowhere/deep")]])
    assert os.listdir(tmp_path) == ["f"]


def test_hardlinks_share_an_inode_and_survive_their_target(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        [
            [
                Entry.dir("bin"),
                Entry.file("bin/perl", b"perl", 0o755),
                Entry.hardlink("bin/perl5", "bin/perl"),
                Entry.hardlink("bin/abs", "/bin/perl"),  # absolute: inside the root
            ],
            [Entry.whiteout("bin/perl")],
        ],
    )
    assert links(tmp_path) == {frozenset({"bin/perl5", "bin/abs"})}
    assert (tmp_path / "bin/perl5").read_bytes() == b"perl"
    assert stat.S_ISREG((tmp_path / "bin/perl5").lstat().st_mode)


def test_hardlink_to_itself_is_a_no_op(tmp_path: Path) -> None:
    unpack(tmp_path, [[Entry.file("f", b"x"), Entry.hardlink("f", "f")]])
    assert (tmp_path / "f").read_bytes() == b"x"


def test_hardlink_to_a_missing_target_fails_naming_layer_and_entry(tmp_path: Path) -> None:
    with pytest.raises(
        ImageError, match=r"layer 1: entry 'l': hard link target 'nope' does not exist"
    ):
        unpack(tmp_path, [[Entry.hardlink("l", "nope")]])


def test_a_file_where_a_directory_is_needed_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"layer 2: entry 'f/x': f is not a directory"):
        unpack(tmp_path, [[Entry.file("f")], [Entry.file("f/x")]])


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_every_compression(tmp_path: Path, compression: str) -> None:
    unpack(tmp_path, [[Entry.file("f", b"data" * 1000)]], compression=compression)  # type: ignore[arg-type]
    assert (tmp_path / "f").read_bytes() == b"data" * 1000


def test_root_entry_sets_root_metadata_and_dot_slash_names_work(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    unpack(root, [[Entry.dir("./", 0o750), Entry.dir("./etc/"), Entry.file("./etc//x", b"1")]])
    assert mode_of(root) == 0o750
    assert (root / "etc/x").read_bytes() == b"1"


def test_empty_blob_is_an_empty_layer(tmp_path: Path) -> None:
    import io

    from registry_image.core.unpack import Unpacker, apply_layer

    with Unpacker(tmp_path) as unpacker:
        stats = apply_layer(unpacker, io.BytesIO(b""), "layer 1")
    assert stats.entries == 0 and os.listdir(tmp_path) == []


def test_long_and_non_ascii_names(tmp_path: Path) -> None:
    long_name = "d/" + "x" * 200
    unpack(
        tmp_path,
        [[Entry.dir("d"), Entry.file(long_name, b"l"), Entry.file("d/\u00e9t\u00e9", b"u")]],
    )
    assert (tmp_path / long_name).read_bytes() == b"l"
    assert (tmp_path / "d" / "\u00e9t\u00e9").read_bytes() == b"u"
