"""Layer stacks for the rootfs comparisons with umoci."""

from __future__ import annotations

from registry_image.testing.oci_builder import Entry

OLD = 86_400  # 1970-01-02: an old mtime


def debian_like() -> list[list[Entry]]:
    """A small Debian-shaped image: merged /usr, setuid and setgid binaries,
    sticky /tmp, private /root, non-root owners, absolute and relative
    symlinks, hard links, long and non-ASCII names; then an "apt-get" layer
    that updates, deletes (whiteouts) and empties a directory (opaque)."""
    base = [
        Entry.dir("./", 0o755),
        Entry.dir("usr", 0o755),
        Entry.dir("usr/bin", 0o755),
        Entry.dir("usr/lib", 0o755),
        Entry.dir("usr/sbin", 0o755),
        Entry.symlink("bin", "usr/bin"),
        Entry.symlink("lib", "usr/lib"),
        Entry.symlink("sbin", "usr/sbin"),
        Entry.file("usr/bin/bash", b"\x7fELF bash" * 100, 0o755),
        Entry.symlink("usr/bin/sh", "bash"),
        Entry.file("usr/bin/passwd", b"\x7fELF passwd", 0o4755),
        Entry.file("usr/bin/wall", b"\x7fELF wall", 0o2755, gid=5),
        Entry.file("usr/bin/perl5.36", b"\x7fELF perl", 0o755),
        Entry.hardlink("usr/bin/perl", "usr/bin/perl5.36"),
        Entry.dir("usr/share", 0o755),
        Entry.dir("usr/share/doc", 0o755),
        Entry.dir("usr/share/doc/" + "libsomething-extraordinarily-long-name" * 3, 0o755),
        Entry.file(
            "usr/share/doc/" + "libsomething-extraordinarily-long-name" * 3 + "/copyright",
            b"(c)",
        ),
        Entry.file("usr/share/doc/caf\u00e9.txt", "caf\u00e9".encode()),
        Entry.dir("etc", 0o755),
        Entry.file("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
        Entry.file("etc/shadow", b"root:*:19000::::::\n", 0o640, gid=42),
        Entry.dir("etc/alternatives", 0o755),
        Entry.symlink("etc/alternatives/pager", "/usr/bin/less"),
        Entry.symlink("etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
        Entry.dir("tmp", 0o1777),
        Entry.dir("root", 0o700),
        Entry.file("root/.bashrc", b"# bashrc\n", 0o644),
        Entry.dir("var", 0o755),
        Entry.dir("var/mail", 0o2775, gid=8),
        Entry.dir("var/lib", 0o755),
        Entry.dir("var/lib/apt", 0o755),
        Entry.dir("var/lib/apt/lists", 0o755),
        Entry.file("var/lib/apt/lists/deb.debian.org_dists", b"lists" * 50),
        Entry.file("var/lib/apt/lists/lock", b"", 0o640),
        Entry.dir("home", 0o755),
        Entry.dir("home/app", 0o750, uid=1000, gid=1000),
        Entry.file("home/app/.profile", b"x", 0o644, uid=1000, gid=1000),
        Entry.file("etc/legacy.conf", b"old", 0o603, mtime=OLD),
    ]
    apt = [
        Entry.dir("usr", 0o755),
        Entry.dir("usr/bin", 0o755),
        Entry.file("usr/bin/curl", b"\x7fELF curl", 0o755),
        Entry.file("bin/less", b"\x7fELF less", 0o755),  # through the /bin symlink
        Entry.whiteout("usr/bin/perl5.36"),  # the hard link target goes; perl stays
        Entry.whiteout("etc/legacy.conf"),
        Entry.dir("var", 0o755),
        Entry.dir("var/lib", 0o755),
        Entry.dir("var/lib/apt", 0o755),
        Entry.dir("var/lib/apt/lists", 0o755),
        Entry.opaque("var/lib/apt/lists"),
        Entry.file("var/lib/apt/lists/fresh", b"fresh"),
        Entry.dir("home", 0o755),
        Entry.whiteout("home/app"),
    ]
    return [base, apt]


def whiteouts() -> list[list[Entry]]:
    return [
        [
            Entry.dir("a"),
            Entry.file("a/f1", b"1"),
            Entry.file("a/f2", b"2"),
            Entry.dir("a/d"),
            Entry.file("a/d/x", b"x"),
            Entry.dir("b"),
            Entry.file("b/y", b"y"),
        ],
        [Entry.dir("a"), Entry.whiteout("a/f1"), Entry.whiteout("a/d"), Entry.whiteout("b")],
        [Entry.dir("b"), Entry.file("b/new", b"new")],
    ]


def opaque_dirs() -> list[list[Entry]]:
    lower = [Entry.dir("o"), Entry.file("o/old"), Entry.dir("o/sub"), Entry.file("o/sub/old")]
    return [
        [*lower, Entry.dir("p"), Entry.file("p/old")],
        [Entry.opaque("o"), Entry.dir("o", 0o750), Entry.file("o/new")],  # marker first
        [Entry.dir("p", 0o700), Entry.file("p/new"), Entry.opaque("p")],  # marker last
    ]


def removed_hardlink_target() -> list[list[Entry]]:
    return [
        [
            Entry.dir("d"),
            Entry.file("d/target", b"data", 0o755),
            Entry.hardlink("d/link", "d/target"),
        ],
        [Entry.dir("d"), Entry.whiteout("d/target")],
    ]


def symlink_replaced_by_file() -> list[list[Entry]]:
    return [
        [Entry.dir("etc"), Entry.file("etc/real", b"real"), Entry.symlink("etc/link", "real")],
        [Entry.dir("etc"), Entry.file("etc/link", b"replaced", 0o600)],
    ]


def odd_mode_old_mtime() -> list[list[Entry]]:
    return [[Entry.dir("d", mtime=OLD), Entry.file("d/f", b"odd", 0o603, mtime=OLD)]]


def setuid_binaries() -> list[list[Entry]]:
    return [
        [
            Entry.dir("bin"),
            Entry.file("bin/su", b"su", 0o4755),
            Entry.file("bin/sg", b"sg", 0o2755, gid=50),
            Entry.file("bin/both", b"both", 0o6755, uid=1000, gid=1000),
            Entry.file("bin/sticky", b"t", 0o1755),
        ]
    ]


CASES = {
    "debian-like": debian_like,
    "whiteouts": whiteouts,
    "opaque-dirs": opaque_dirs,
    "removed-hardlink-target": removed_hardlink_target,
    "symlink-replaced-by-file": symlink_replaced_by_file,
    "mode-0603-old-mtime": odd_mode_old_mtime,
    "setuid-binaries": setuid_binaries,
}
