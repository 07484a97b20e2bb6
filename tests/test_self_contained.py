"""The repository carries every file its tests, benchmarks and scripts read: a clone with no
`shared/` folder beside it must pass its own test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"""\.\./shared|["']shared["']|shared/reference""")


def test_nothing_reads_a_folder_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("tests", "bench", "scripts", ".ci")
        for path in sorted((REPO / folder).rglob("*"))
        if path.is_file() and path != Path(__file__) and path.suffix not in {".json", ".pyc"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_vendored_reference_data_is_present() -> None:
    reference = REPO / "tests" / "reference"
    assert (reference / "checkout" / "openapi" / "nas-openapi.json").is_file()
    assert "Provenance" in (reference / "README.md").read_text(encoding="utf-8")
