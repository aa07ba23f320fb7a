"""What uts records in a generated project: ``[tool.uts]`` and the file manifest.

The manifest (``.uts/manifest.json``) lists every file uts wrote with its owning
component, the SHA-256 of what was written and that pristine content, the base of
later three-way merges.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from uts.model import GeneratedFile

__all__ = ["MANIFEST_FORMAT", "MANIFEST_PATH", "STATE_OWNER", "build_manifest", "sha256"]

MANIFEST_PATH = ".uts/manifest.json"
MANIFEST_FORMAT = 1
STATE_OWNER = "uts"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pristine(data: bytes) -> dict[str, str]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def build_manifest(files: Mapping[str, GeneratedFile], uts_version: str) -> bytes:
    """The manifest of *files* as deterministic JSON bytes."""
    entries: dict[str, Any] = {}
    for path in sorted(files):
        item = files[path]
        entry: dict[str, Any] = {"owner": item.owner, "sha256": sha256(item.content)}
        if item.executable:
            entry["executable"] = True
        entry["pristine"] = _pristine(item.content)
        entries[path] = entry
    document = {"format": MANIFEST_FORMAT, "uts": uts_version, "files": entries}
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
