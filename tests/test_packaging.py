"""Every package under the mapped root folders ships in the wheel.

``[tool.setuptools] packages`` in pyproject.toml is an explicit list. A package
missing from it still imports in an editable install (so every other test
passes), but the wheel, and so the resource's Docker image, silently lacks it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def setuptools_config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)["tool"]["setuptools"]
    return config


def mapped_folders() -> dict[str, Path]:
    """``package-dir``: import name -> repository folder (core/, plugins/, resource/, testing/)."""
    return {name: ROOT / folder for name, folder in setuptools_config()["package-dir"].items()}


def packages_on_disk() -> dict[str, Path]:
    """Every directory with an ``__init__.py`` under a mapped folder, by import name."""
    found = {}
    for name, folder in mapped_folders().items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found[".".join((name, *parts))] = init.parent
    return found


def test_the_mapped_folders_are_the_root_folders() -> None:
    assert sorted(path.name for path in mapped_folders().values()) == [
        "api",
        "core",
        "plugins",
        "resource",
        "testing",
    ]


def test_every_package_on_disk_is_listed() -> None:
    listed = set(setuptools_config()["packages"])
    missing = sorted(name for name in packages_on_disk() if name not in listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_listed_package_exists() -> None:
    on_disk = packages_on_disk()
    stale = sorted(name for name in setuptools_config()["packages"] if name not in on_disk)
    assert not stale, f"listed in pyproject.toml but not on disk: {stale}"


def test_every_folder_with_modules_is_a_package() -> None:
    """A folder of modules without ``__init__.py`` would not be found either."""
    missing_init = sorted(
        str(folder.relative_to(ROOT))
        for root in mapped_folders().values()
        for folder in [root, *(path for path in root.rglob("*") if path.is_dir())]
        if any(folder.glob("*.py")) and not (folder / "__init__.py").exists()
    )
    assert not missing_init, f"folders of modules without __init__.py: {missing_init}"


def test_cloud_is_every_provider_extra_and_tests_install_them() -> None:
    """``[cloud]`` (what the resource image installs) is ``[ecr]``, ``[acr]``
    and ``[gcp]`` together; ``[test]`` (what ``make setup`` installs) has them too."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        extras: dict[str, list[str]] = tomllib.load(file)["project"]["optional-dependencies"]
    providers = {"ecr", "acr", "gcp"}
    assert set(extras["cloud"]) == {each for name in providers for each in extras[name]}
    for name in providers:
        assert set(extras[name]) <= set(extras["test"]), name
