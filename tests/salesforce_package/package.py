"""The Salesforce package under `salesforce/`, read from its source files (stdlib XML only).

Tests compare this model with paybridge's shipped mapping defaults and check the package's
internal cross-references; nothing here needs Node, Java or an org.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "salesforce"
NS = "http://soap.sforce.com/2006/04/metadata"
_NS = {"m": NS}
APP = "force-app"
COMMERCE = "force-commerce"


def child_text(element: ET.Element, tag: str) -> str | None:
    found = element.find(f"m:{tag}", _NS)
    return None if found is None or found.text is None else found.text.strip()


def children(element: ET.Element, tag: str) -> list[ET.Element]:
    return element.findall(f"m:{tag}", _NS)


def parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


@dataclass(frozen=True)
class Field:
    """One field file: `objects/<sobject>/fields/<name>.field-meta.xml`."""

    package_dir: str
    sobject: str
    name: str
    type: str
    length: int | None
    external_id: bool
    unique: bool
    case_sensitive: bool
    required: bool
    reference_to: str | None
    relationship_name: str | None
    picklist_values: tuple[str, ...]
    restricted: bool

    @property
    def qualified(self) -> str:
        return f"{self.sobject}.{self.name}"


def _flag(element: ET.Element, tag: str) -> bool:
    return child_text(element, tag) == "true"


def _read_field(package_dir: str, sobject: str, path: Path) -> Field:
    root = parse(path)
    length = child_text(root, "length")
    values: list[str] = []
    restricted = False
    value_set = root.find("m:valueSet", _NS)
    if value_set is not None:
        restricted = _flag(value_set, "restricted")
        definition = value_set.find("m:valueSetDefinition", _NS)
        if definition is not None:
            values = [child_text(v, "fullName") or "" for v in children(definition, "value")]
    return Field(
        package_dir=package_dir,
        sobject=sobject,
        name=path.name.removesuffix(".field-meta.xml"),
        type=child_text(root, "type") or "",
        length=int(length) if length else None,
        external_id=_flag(root, "externalId"),
        unique=_flag(root, "unique"),
        case_sensitive=_flag(root, "caseSensitive"),
        required=_flag(root, "required"),
        reference_to=child_text(root, "referenceTo"),
        relationship_name=child_text(root, "relationshipName"),
        picklist_values=tuple(values),
        restricted=restricted,
    )


@dataclass(frozen=True)
class Package:
    """Fields and objects per package directory."""

    fields: dict[tuple[str, str], Field]
    custom_objects: dict[str, str]  # API name → package directory
    source_api_version: str
    package_dirs: tuple[str, ...]

    def field(self, sobject: str, name: str) -> Field | None:
        return self.fields.get((sobject, name))

    def fields_of(self, sobject: str) -> list[Field]:
        return [f for (obj, _), f in sorted(self.fields.items()) if obj == sobject]

    def without(self, sobject: str, name: str) -> Package:
        """A copy with one field gone (to show a rename is caught)."""
        remaining = {k: v for k, v in self.fields.items() if k != (sobject, name)}
        return Package(remaining, self.custom_objects, self.source_api_version, self.package_dirs)


def source_dir(package_dir: str) -> Path:
    return ROOT / package_dir / "main" / "default"


@cache
def load_package() -> Package:
    project = json.loads((ROOT / "sfdx-project.json").read_text(encoding="utf-8"))
    dirs = tuple(str(entry["path"]) for entry in project["packageDirectories"])
    fields: dict[tuple[str, str], Field] = {}
    objects: dict[str, str] = {}
    for package_dir in dirs:
        objects_dir = source_dir(package_dir) / "objects"
        if not objects_dir.is_dir():
            continue
        for object_dir in sorted(objects_dir.iterdir()):
            if (object_dir / f"{object_dir.name}.object-meta.xml").exists():
                objects[object_dir.name] = package_dir
            for path in sorted((object_dir / "fields").glob("*.field-meta.xml")):
                field = _read_field(package_dir, object_dir.name, path)
                key = (field.sobject, field.name)
                assert key not in fields, f"{field.qualified} is defined twice"
                fields[key] = field
    return Package(fields, objects, str(project["sourceApiVersion"]), dirs)


def meta_files() -> Iterator[Path]:
    for package_dir in load_package().package_dirs:
        yield from sorted((ROOT / package_dir).rglob("*-meta.xml"))


def apex_sources() -> dict[str, str]:
    """Class name → source text, for every `.cls` of every package directory."""
    sources: dict[str, str] = {}
    for package_dir in load_package().package_dirs:
        for path in sorted((ROOT / package_dir).rglob("*.cls")):
            sources[path.stem] = path.read_text(encoding="utf-8")
    return sources


def is_test_class(source: str) -> bool:
    """True when the top-level class carries @IsTest (before `class`)."""
    head = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    match = re.search(r"\bclass\b", head)
    return match is not None and "@istest" in head[: match.start()].lower()


def strip_comments(source: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)


def package_files(pattern: str) -> list[Path]:
    """Files matching `pattern` in the package directories (never node_modules)."""
    return [
        path
        for package_dir in load_package().package_dirs
        for path in sorted((ROOT / package_dir).rglob(pattern))
    ]
