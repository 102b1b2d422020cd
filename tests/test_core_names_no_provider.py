"""The core names no authentication provider: ECR, ACR, Google and the
docker config are plugins, and the core must work without any of them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = re.compile(
    r"\b(ecr|acr|aws|azure|gcr|gcp)\b|amazonaws|azurecr|docker[ _-]config\b|docker-credential"
    r"|credhelpers|credsstore|google",
    re.IGNORECASE,
)


def test_core_and_api_name_no_provider() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("core", "api")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        # the image config media type constant, not a credentials store
        if PROVIDERS.search(line.replace("DOCKER_CONFIG", ""))
    ]
    assert found == []


def test_the_pattern_finds_what_it_looks_for() -> None:
    for text in ("aws_region", "the ECR token", "azure_acr", "~/.docker config", "gcr.io"):
        assert PROVIDERS.search(text.replace("_", " ")), text
