"""Human-readable output: tables, the summary after ``uts new``, ``uts info``."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uts.engine import Composition
    from uts.plan import Plan
    from uts.plugin.manager import Registry

__all__ = ["component_info", "created_summary", "format_info", "listing", "printable", "table"]

# C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, and the
# marks and overrides that reorder text (a name "abc\u202egnp.exe" shows as "abcexe.png").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def listing(names: Sequence[str], limit: int = 5) -> str:
    """The first *limit* of *names*, comma-separated, then how many more there are."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def printable(text: object) -> str:
    """*text* as one line safe for a terminal: control characters shown as escapes.

    Names reach the terminal from files anyone can edit (the manifest, ``[tool.uts]``,
    recipes, plugins): a raw ``ESC`` could recolour or rewrite the screen, a newline
    forge a line of output. Everything uts prints about a name goes through here.
    """
    return _UNPRINTABLE.sub(_escape, str(text))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain left-aligned text table; the last column is not padded."""
    shown = [[printable(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in shown) for i in range(len(header) - 1)]
    lines = []
    for row in shown:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _tree(paths: list[str]) -> list[str]:
    top: dict[str, int] = {}
    for path in paths:
        head, sep, _ = path.partition("/")
        key = head + "/" if sep else head
        top[key] = top.get(key, 0) + 1
    entries = sorted(top.items(), key=lambda item: (not item[0].endswith("/"), item[0]))
    lines = []
    for index, (name, count) in enumerate(entries):
        branch = "└── " if index == len(entries) - 1 else "├── "
        suffix = f" ({count} files)" if name.endswith("/") else ""
        lines.append(f"{branch}{name}{suffix}")
    return lines


def created_summary(root: Path, composition: Composition, plan: Plan) -> str:
    """What ``uts new`` prints after writing: a short tree and the next commands."""
    created = [change.path for change in plan.effective]
    components = ", ".join(composition.context.components)
    shown = os.path.relpath(root) if not os.path.relpath(root).startswith("..") else str(root)
    lines = [
        f"Created {shown}/ from recipe {composition.context.recipe!r} "
        f"({len(created)} files; components: {components})",
        f"{shown}/",
        *_tree(created),
    ]
    # Steps say where they go ("order"): install, test, migrate, serve. Their slot's
    # consumer fills in the defaults; a project without it gets them unchecked.
    steps = sorted(
        composition.fragments["next-steps"],
        key=lambda step: step.get("order", 50) if isinstance(step, dict) else 50,
    )
    if steps:
        lines += ["", "Next steps:", f"  cd {shown}"]
        for step in steps:
            if isinstance(step, dict):
                if step.get("text"):
                    lines.append(f"  # {step['text']}")
                step = step["command"]
            lines.append(f"  {step}")
    return "\n".join(map(printable, lines))


def component_info(registry: Registry, name: str) -> dict[str, Any]:
    """Everything ``uts info`` shows about component *name*."""
    from uts.errors import UtsError
    from uts.model import Context, Contributions, FragmentStore, slot_declarations
    from uts.render import TEMPLATE_SUFFIX, template_files
    from uts.resolve import resolve, resolve_options

    if name not in registry.components:
        raise registry.unknown(name)
    loaded = registry.get(name)
    component = loaded.component
    files = []
    if component.templates is not None:
        files = [
            path.removesuffix(TEMPLATE_SUFFIX) for path in template_files(component.templates, name)
        ]
    data: dict[str, Any] = {
        "name": component.name,
        "version": component.version,
        "summary": component.summary,
        "source": loaded.source,
        "requires": list(component.requires),
        "conflicts": list(component.conflicts),
        "provides": list(component.provides),
        "adoptable": component.adoptable,
        "options": [
            {
                "name": option.name,
                "type": option.type.__name__,
                "default": None if option.required else option.default,
                "required": option.required,
                "choices": list(option.choices) if option.choices else None,
                "pattern": option.pattern,
                "help": option.help,
            }
            for option in component.options
        ],
        "files": files,
        "slots": [_slot_info(slot) for slot in component.slots],
        "fragments": [],
    }
    metadata = registry.metadata
    try:
        order = resolve(metadata, [name]).order
        options = {n: resolve_options(metadata[n], {}) for n in order}
        ctx = Context("example", "example", "", "", options, "")
        store = FragmentStore(declared=slot_declarations(metadata[n] for n in order))
        registry.contribute(name, ctx, Contributions(name, store))
    except UtsError as error:
        data["fragments_error"] = error.message
        return data
    data["fragments"] = [
        {"slot": item.slot, "key": item.key, "value": item.value} for item in store.items
    ]
    for _, directory in store.template_dirs:
        data["files"] += [p.removesuffix(TEMPLATE_SUFFIX) for p in template_files(directory, name)]
    data["files"] += sorted(store.files)
    return data


def _slot_info(slot: Any) -> dict[str, Any]:
    from uts.model import NO_DEFAULT, type_name

    return {
        "name": slot.name,
        "help": slot.help,
        "fields": [
            {
                "name": field.name,
                "type": type_name(field.type),
                "required": field.required,
                "default": None if field.default is NO_DEFAULT else field.default,
                "help": field.help,
            }
            for field in slot.fields
        ],
    }


def format_info(data: dict[str, Any]) -> str:
    lines = [f"{data['name']} {data['version']} ({data['source']})", f"  {data['summary']}", ""]
    lines.append("requires:  " + (", ".join(data["requires"]) or "-"))
    lines.append("conflicts: " + (", ".join(data["conflicts"]) or "-"))
    if data.get("provides"):
        lines.append("provides:  " + ", ".join(data["provides"]))
    lines.append("adopted projects: " + ("yes" if data.get("adoptable") else "no"))
    lines.append("")
    lines.append("options:" if data["options"] else "options: none")
    for option in data["options"]:
        default = "(required)" if option["required"] else repr(option["default"])
        extra = f" one of {option['choices']}" if option["choices"] else ""
        extra += f" matching {option['pattern']}" if option["pattern"] else ""
        lines.append(f"  {option['name']} ({option['type']}, default {default}){extra}")
        if option["help"]:
            lines.append(f"      {option['help']}")
    lines.append("")
    lines.append("files:" if data["files"] else "files: none")
    lines += [f"  {path}" for path in data["files"]]
    lines.append("")
    if data["slots"]:
        lines.append("slots it reads (fragments other components give it):")
        for slot in data["slots"]:
            fields = ", ".join(
                f"{field['name']}: {field['type']}" + ("" if field["required"] else "?")
                for field in slot["fields"]
            )
            lines.append(f"  {slot['name']} {{{fields}}}")
        lines.append("")
    if data.get("fragments_error"):
        lines.append(f"fragments: (cannot show: {data['fragments_error']})")
    else:
        lines.append("fragments:" if data["fragments"] else "fragments: none")
        for item in data["fragments"]:
            key = f" [{item['key']}]" if item["key"] else ""
            lines.append(f"  {item['slot']}{key}: {item['value']}")
    return "\n".join(map(printable, lines))
