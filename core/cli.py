"""The ``uts`` command line (typer). Heavy imports happen inside the commands."""

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from uts import __version__
from uts.completion import (
    component_names,
    option_names,
    project_component_names,
    recipe_names,
)
from uts.errors import UsageError, UtsError
from uts.report import printable

if TYPE_CHECKING:
    from uts.plugin.manager import Registry

__all__ = ["app", "run"]

app = typer.Typer(
    name="uts",
    help="Compose Python service projects from pluggable components.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 error, 2 usage, 3 resolution, 4 option, 5 recipe, 6 plugin, "
    "7 render, 8 conflict, 9 state, 10 write, 11 check, 12 locked, 70 internal error, "
    "130 interrupted (143 on SIGTERM)."
)

_command_line = "uts"


def _journal() -> Any:
    """The journal module, told which command line takes the lock and writes journals."""
    from uts import journal

    journal.command = _command_line
    return journal


@contextlib.contextmanager
def _writing(root: Path, dry_run: bool) -> Iterator[None]:
    """Hold *root*'s lock (a dry run only reads), after recovering a command that died there."""
    journal = _journal()
    if dry_run:
        journal.recover(root)
        yield
        return
    with journal.locked(root):
        journal.recover(root)
        yield


@contextlib.contextmanager
def _changing(
    project: Path | None, dry_run: bool, registry: "Registry | None" = None
) -> Iterator[Any]:
    """The state of the project at or above *project*, opened under its lock."""
    from uts.state import find_project

    root = find_project(project or Path.cwd())
    with _writing(root, dry_run):
        yield _open_project(root, dry_run, registry)


def _line(text: str, err: bool = False) -> None:
    """Print one line; names in it come from files and plugins, so escape control characters."""
    typer.echo(printable(text), err=err)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"uts {__version__}")
        raise typer.Exit()


@app.callback(epilog=EXIT_CODES_HELP)
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Compose Python service projects from pluggable components."""
    # --debug is read by run() before typer parses anything; declared here for --help.


def _registry() -> "Registry":
    """The components, each plugin imported once a command needs it (failures warned of)."""
    from uts.plugin.manager import LoadError, load_registry

    def warn(error: LoadError) -> None:
        _line(
            f"warning: plugin {error.name!r} ({error.source}) failed to load: {error.message}",
            err=True,
        )

    return load_registry(lazy=True, on_error=warn)


def _parse_sets(values: list[str]) -> dict[str, dict[str, str]]:
    options: dict[str, dict[str, str]] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        component, dot, option = key.partition(".")
        if not sep or not dot or not component or not option:
            raise UsageError(
                f"--set {value!r} is not COMPONENT.OPTION=VALUE",
                hint="for example: --set crud.resource=order",
            )
        options.setdefault(component.strip(), {})[option.strip()] = raw
    return options


SetOption = Annotated[
    list[str],
    typer.Option(
        "--set",
        help="Set an option: COMPONENT.OPTION=VALUE (repeatable).",
        autocompletion=option_names,
    ),
]


def _interactive(no_input: bool) -> bool:
    return not no_input and sys.stdin.isatty() and sys.stdout.isatty()


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Project name; the package name is derived from it.")],
    recipe: Annotated[
        str,
        typer.Option(
            "--recipe",
            "-r",
            help="Recipe name or path to a TOML file.",
            autocompletion=recipe_names,
        ),
    ] = "mvp",
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="Where to create it (default: ./NAME).")
    ] = None,
    with_: Annotated[
        list[str],
        typer.Option(
            "--with", help="Add a component (repeatable).", autocompletion=component_names
        ),
    ] = [],  # noqa: B006
    without: Annotated[
        list[str],
        typer.Option(
            "--without", help="Drop a component (repeatable).", autocompletion=component_names
        ),
    ] = [],  # noqa: B006
    set_: SetOption = [],  # noqa: B006
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and diff; write nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Allow a non-empty directory; existing files are never overwritten."
        ),
    ] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; fail on missing options.")
    ] = False,
) -> None:
    """Create a new project from a recipe."""
    from uts.commit import commit
    from uts.engine import ProjectSpec, compose, package_name
    from uts.plan import plan_new
    from uts.recipe import check_recipe, find_recipes, load_recipe

    package_name(name)
    registry = _registry()
    chosen = load_recipe(recipe, find_recipes(lookup=registry.recipes_named))
    sets = _parse_sets(set_)
    check_recipe(chosen, registry, with_, without, sets)
    # The recipe's values for a component dropped with --without go with it.
    options: dict[str, dict[str, Any]] = {
        k: dict(v) for k, v in chosen.options.items() if k not in without
    }
    for component, values in sets.items():
        options.setdefault(component, {}).update(values)
    spec = ProjectSpec(
        project_name=name,
        recipe=chosen.name,
        components=[*chosen.components, *with_],
        options=options,
        without=list(without),
    )
    ask = _prompt if _interactive(no_input) else None
    composition = compose(registry, spec, ask)
    root = (directory if directory is not None else Path(name)).absolute()
    plan_new(root, {}, force=True)  # an unusable --dir is a clear error before anything
    journal = _journal()
    if root.is_dir():  # an interrupted `new --force` there is undone first
        journal.recover(root)
    plan = plan_new(root, composition.files, force=force)
    for added, by in composition.resolution.added_for.items():
        _line(f"adding {added!r}: required by {by!r}", err=True)
    if dry_run:
        typer.echo(plan.diff(), nl=False)
        counts = plan.counts()
        _line(
            f"dry run: would create {counts['create']} file(s) in {root} "
            f"({counts['keep']} already identical); nothing was written"
        )
        return
    commit(plan)
    _remember(composition)
    from uts.report import created_summary

    typer.echo(created_summary(root, composition, plan))


def _remember(composition: Any, state: Any = None) -> None:
    """Keep what uts just wrote in the per-user object cache: later merge bases.

    Files recorded already (by an earlier command, or found in git) are not stored again.
    """
    from uts.objects import store_objects
    from uts.state import is_state_path, records_of

    known = {entry["blob"] for entry in state.files.values()} if state is not None else set()
    records = records_of(composition.files)
    store_objects(
        item.content
        for path, item in composition.files.items()
        if not is_state_path(path) and records[path].blob not in known
    )


def _prompt(component: Any, option: Any) -> Any:
    label = f"{component.name}.{option.name}" + (f" ({option.help})" if option.help else "")
    if option.choices:
        label += " [" + "/".join(map(str, option.choices)) + "]"
    return typer.prompt(label, type=option.type if option.type is not bool else bool)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List installed components, where they come from, and plugins that failed to load."""
    from uts.plugin.manager import load_registry

    registry = load_registry()
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "version": loaded.component.version,
            "summary": loaded.component.summary,
            "source": loaded.source,
            "requires": list(loaded.component.requires),
            "conflicts": list(loaded.component.conflicts),
        }
        for name, loaded in sorted(registry.components.items())
    ]
    errors = [{"name": e.name, "source": e.source, "error": e.message} for e in registry.errors]
    if as_json:
        typer.echo(json.dumps({"components": rows, "errors": errors}, indent=2))
        return
    from uts.report import table

    typer.echo(
        table(
            ["NAME", "VERSION", "SOURCE", "SUMMARY"],
            [[r["name"], r["version"], r["source"], r["summary"]] for r in rows],
        )
    )
    if errors:
        typer.echo("\nFailed to load:", err=True)
        for e in errors:
            _line(f"  {e['name']} ({e['source']}): {e['error']}", err=True)


@app.command()
def recipes(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    check: Annotated[
        str | None,
        typer.Option(
            "--check",
            metavar="RECIPE",
            autocompletion=recipe_names,
            help="Validate one recipe (a file or a name) as 'uts new' would, and say ok.",
        ),
    ] = None,
) -> None:
    """List the recipes: built-in tiers and those shipped by plugins."""
    from uts.recipe import check_recipe, find_recipes, load_recipe

    registry = _registry()
    if check is not None:
        checked = load_recipe(check, find_recipes(lookup=registry.recipes_named))
        check_recipe(checked, registry)
        count = len(checked.components)
        _line(f"ok: {checked.path}: recipe {checked.name!r} ({count} components)")
        return
    available = find_recipes(registry.recipe_files)
    rows: list[dict[str, Any]] = []
    for ref in sorted(available):
        loaded = load_recipe(ref, available)
        rows.append(
            {
                "name": ref,
                "description": loaded.description,
                "source": loaded.source,
                "components": loaded.components,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from uts.report import table

    typer.echo(
        table(
            ["NAME", "SOURCE", "COMPONENTS", "DESCRIPTION"],
            [[r["name"], r["source"], " ".join(r["components"]), r["description"]] for r in rows],
        )
    )


@app.command()
def info(
    component: Annotated[
        str, typer.Argument(help="Component name.", autocompletion=component_names)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show a component: options, requirements, conflicts, files and fragments."""
    from uts.report import component_info, format_info

    registry = _registry()
    data = component_info(registry, component)
    typer.echo(json.dumps(data, indent=2) if as_json else format_info(data))


ProjectOption = Annotated[
    Path | None,
    typer.Option("--project", "-C", help="The project directory (default: found from here up)."),
]


def _open_project(
    project: Path | None, dry_run: bool = False, registry: "Registry | None" = None
) -> Any:
    """The project's state; state format 1 is upgraded first (once, in one line)."""
    from uts.state import find_project, load_project

    state = load_project(find_project(project or Path.cwd()))
    if state.legacy is None:
        return state
    if dry_run:
        typer.echo(
            "note: uts's state here is format 1; the next command without --dry-run "
            "upgrades it to format 2",
            err=True,
        )
        return state
    from uts.upgrade import upgrade

    typer.echo(upgrade(state, registry or _registry()), err=True)
    return load_project(state.root)


def _provider(data: dict[str, Any]) -> str:
    provider = data.get("provider") or {}
    return " ".join(str(provider[k]) for k in ("distribution", "version") if k in provider)


@app.command()
def status(
    project: ProjectOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the recipe, active components and what changed since uts wrote the files."""
    from uts.state import find_project
    from uts.update import find_outdated

    root = find_project(project or Path.cwd())

    def read() -> Any:
        state = _open_project(root)
        return state, state.drift()

    state, drift = _journal().settled(root, read)
    components = state.tool["components"]
    newer = {o.name: o.installed for o in find_outdated(state, _registry())}
    if as_json:
        data = {
            "project": str(state.root),
            "recipe": state.tool.get("recipe"),
            "format": state.tool.get("format"),
            "components": components,
            "installed": newer,
            "drift": [{"path": d.path, "owner": d.owner, "status": d.status} for d in drift],
        }
        typer.echo(json.dumps(data, indent=2))
        return
    _line(
        f"{state.tool.get('project-name', state.root.name)} at {state.root} "
        f"(recipe {state.tool.get('recipe')!r})"
    )
    typer.echo("components:")
    for name, data in components.items():
        options = " ".join(f"{k}={v}" for k, v in data.get("options", {}).items())
        provider = _provider(data)
        installed = f" (installed: {newer[name]})" if name in newer else ""
        line = f"  {name} {data['version']}{installed}"
        line += f" (from {provider})" if provider else ""
        _line(line + (f"  {options}" if options else ""))
    if newer:
        typer.echo("newer versions are installed: 'uts update' takes them in")
    if not drift:
        typer.echo("no changes: every file is as uts wrote it")
        return
    typer.echo(f"changed since uts wrote them ({len(drift)}):")
    for item in drift:
        _line(f"  {item.status:<9} {item.path}  ({item.owner})")


@app.command()
def diff(
    paths: Annotated[list[str], typer.Argument(help="Only these files (default: all).")] = [],  # noqa: B006
    project: ProjectOption = None,
) -> None:
    """Show what the user changed compared with what uts wrote, as a unified diff."""
    from uts.change import render_recorded
    from uts.plan import Action, Change, Plan
    from uts.state import find_project

    root = find_project(project or Path.cwd())
    wanted = {Path(p).as_posix().removeprefix("./") for p in paths}

    def read() -> tuple[str, list[str]]:
        state = _open_project(root)
        state.render = lambda: render_recorded(_registry(), state)  # only if a base is missing
        unknown = wanted - set(state.files)
        if unknown:
            raise UsageError(
                f"uts did not write {', '.join(sorted(unknown))}",
                hint="uts status lists the files it wrote",
            )
        drift = [item for item in state.drift() if not wanted or item.path in wanted]
        bases = state.bases(item.path for item in drift)
        changes = []
        notes: list[str] = []
        for item in drift:
            if bases[item.path] is None:
                notes.append(f"note: {item.path} changed, but what uts wrote there is unknown")
                continue
            current = state.read(item.path) if item.status == "modified" else None
            action: Action = "update" if current is not None else "delete"
            changes.append(Change(item.path, action, item.owner, bases[item.path], current))
        return Plan(state.root, changes).diff(), notes

    text, notes = _journal().settled(root, read)
    for note in notes:
        typer.echo(note, err=True)
    typer.echo(text, nl=False)


STATE_DIR = ".uts/"
"""Where uts keeps its own state: shown as one summary line, never as a diff."""


def _stale_lock(report: Any) -> str | None:
    """An adopted project's lock file, when the change edits its dependency file."""
    record = report.state.tool.get("adopt") if report.state is not None else None
    packaging = record.get("packaging", {}) if isinstance(record, dict) else {}
    lock, dependencies = packaging.get("lock"), packaging.get("dependency-file")
    changed = {change.path for change in report.plan.effective}
    return lock if isinstance(lock, str) and dependencies in changed else None


def _apply_change(
    report: Any, dry_run: bool, markers: bool, verb: str, details: list[str] | None = None
) -> None:
    """Show or commit a change to an existing project; conflicts stop it unless *markers*.

    A dry run shows the diff of the project's files, one line for uts's state, and
    every conflict the change would hit (exit 8 if there is one), writing nothing.
    *details* are lines saying what changes per component (``old → new`` for updates).
    """
    from uts.commit import commit
    from uts.errors import ConflictError
    from uts.plan import Plan

    plan = report.plan
    for path in report.left_deleted:
        _line(f"note: {path} was deleted by you; uts leaves it deleted", err=True)
    for path in report.kept:
        _line(f"kept {path}: you modified it (--delete-modified removes it)", err=True)
    for path, (owner, hint) in sorted(report.held.items()):
        _line(
            f"note: {path} is history that {owner!r} writes once; uts leaves it as it is"
            + (f" ({hint})" if hint else ""),
            err=True,
        )
    lock = _stale_lock(report)
    if lock:
        _line(f"note: uts does not touch {lock}: regenerate it after this change", err=True)
    for path in report.unknown_base:
        _line(
            f"note: {path}: what uts wrote there is unknown (not in git, the object cache, "
            "nor a render of the recorded versions): both sides are a conflict",
            err=True,
        )
    listing = ", ".join(f"{p} ({n})" for p, n in sorted(report.conflicts.items()))
    stop = bool(report.conflicts) and not markers
    files = [change for change in plan.changes if not change.path.startswith(STATE_DIR)]
    state = [change for change in plan.effective if change.path.startswith(STATE_DIR)]
    counts = Plan(plan.root, files).counts()
    summary = (
        f"{counts['create']} created, {counts['update']} updated "
        f"({len(report.merged)} merged with your edits), {counts['delete']} deleted"
    )
    if dry_run:
        # Stopping writes nothing, so the files that would conflict get no diff then.
        shown = [c for c in files if not (stop and c.path in report.conflicts)]
        typer.echo(Plan(plan.root, shown).diff(), nl=False)
        if state:
            _line(_state_line(state, report))
        typer.echo(_conflict_text(report), nl=False)
        if stop:
            raise ConflictError(
                f"dry run: {verb} would stop: your edits overlap what uts must change in: "
                f"{listing}; nothing was written",
                hint="resolve them by hand first, or use --conflict=markers to write markers",
            )
        for line in details or []:
            _line(f"  {line}")
        _line(f"dry run: would {verb}: {summary}; nothing was written")
        if report.conflicts:
            raise typer.Exit(8)
        return
    if stop:
        typer.echo(_conflict_text(report), err=True, nl=False)
        raise ConflictError(
            f"your edits overlap what uts must change in: {listing}; nothing was changed",
            hint="resolve by hand, or rerun with --conflict=markers to write conflict markers",
        )
    if not plan.effective:
        _line(f"nothing to change: {verb} leaves the project as it is")
        return
    commit(plan)
    _remember(report.composition, report.state)
    _line(f"{verb}: {summary}")
    for line in details or []:
        _line(f"  {line}")
    if report.conflicts:
        for path, count in sorted(report.conflicts.items()):
            _line(f"conflict: {path} has {count} conflict marker block(s) to resolve", err=True)
        raise typer.Exit(8)


def _state_line(changes: list[Any], report: Any) -> str:
    """One line for uts's own state files instead of their diff."""
    done = {"create": "created", "update": "updated", "delete": "deleted"}
    names = ", ".join(f"{change.path} {done[change.action]}" for change in changes)
    recorded = sum(1 for path in report.composition.files if not path.startswith(STATE_DIR))
    return f"state: {names} ({recorded} files recorded)"


def _conflict_text(report: Any) -> str:
    """Each conflicting region: the file, where it starts in the user's file, both sides."""
    from uts.merge import MARKERS

    lines: list[str] = []
    for path, hunks in sorted(report.hunks.items()):
        for number, hunk in enumerate(hunks, start=1):
            where = f"conflict {number} of {len(hunks)} in {path}"
            if hunk.line == 0:
                lines.append(f"{where}: a binary file you and uts both changed\n")
                continue
            lines.append(f"{where}, at line {hunk.line} of your file:\n")
            yours, uts = ([x if x.endswith("\n") else x + "\n" for x in side] for side in hunk[1:])
            lines += [MARKERS[0], *yours, MARKERS[1], *uts, MARKERS[2]]
    return "".join(lines)


ConflictOption = Annotated[
    str,
    typer.Option(
        "--conflict",
        help="When your edits overlap uts's: 'stop' (change nothing) or 'markers'.",
    ),
]


UpdateOption = Annotated[
    bool,
    typer.Option(
        "--update", help="Also take in newer installed versions of the project's components."
    ),
]


def _conflict_mode(value: str) -> bool:
    if value not in ("stop", "markers"):
        raise UsageError(
            f"--conflict must be 'stop' or 'markers', not {value!r}",
            hint="--conflict=stop changes nothing on overlap; markers writes conflict markers",
        )
    return value == "markers"


@app.command()
def add(
    components: Annotated[
        list[str], typer.Argument(help="Components to add.", autocompletion=component_names)
    ],
    set_: SetOption = [],  # noqa: B006
    project: ProjectOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; write nothing.")
    ] = False,
    conflict: ConflictOption = "stop",
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt.")] = False,
    update: UpdateOption = False,
) -> None:
    """Add components to an existing project, merging with your edits."""
    from uts.change import plan_change, spec_for_add

    markers = _conflict_mode(conflict)
    with _changing(project, dry_run) as state:
        original = state
        active = state.tool["components"]
        new = [name for name in components if name not in active or active[name].get("auto")]
        for name in components:
            if name in active and name not in new:
                _line(f"{name} is already part of this project", err=True)
        sets = _parse_sets(set_)
        if not new and not sets:
            typer.echo("nothing to change")
            return
        registry = _registry()
        state, moves, verb = _take_updates(registry, state, "add", update)
        spec = spec_for_add(state, new, sets)
        ask = _prompt if _interactive(no_input) else None
        report = plan_change(registry, state, spec, ask, moves=moves)
        for added, by in report.composition.resolution.added_for.items():
            if added not in active:
                _line(f"adding {added!r}: required by {by!r}", err=True)
        verb += "add " + " ".join(new or components)
        lines = _changed_by(report, original, registry, moves)
        _apply_change(report, dry_run, markers, verb, lines)


@app.command()
def remove(
    components: Annotated[
        list[str],
        typer.Argument(help="Components to remove.", autocompletion=project_component_names),
    ],
    project: ProjectOption = None,
    cascade: Annotated[
        bool, typer.Option("--cascade", help="Also remove components that require these.")
    ] = False,
    delete_modified: Annotated[
        bool, typer.Option("--delete-modified", help="Delete their files even if you edited them.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; write nothing.")
    ] = False,
    conflict: ConflictOption = "stop",
    update: UpdateOption = False,
) -> None:
    """Remove components: their files, dependencies and fragments, keeping your edits."""
    from uts.change import plan_change, spec_for_remove

    markers = _conflict_mode(conflict)
    registry = _registry()
    with _changing(project, dry_run, registry) as state:
        original = state
        state, moves, verb = _take_updates(registry, state, "remove", update, list(components))
        spec, removed = spec_for_remove(state, registry, list(components), cascade)
        extra = [name for name in removed if name not in components]
        if extra:
            _line(f"also removing: {', '.join(extra)}", err=True)
        report = plan_change(registry, state, spec, delete_modified=delete_modified, moves=moves)
        verb += "remove " + " ".join(removed)
        lines = _changed_by(report, original, registry, moves)
        _apply_change(report, dry_run, markers, verb, lines)


@app.command()
def update(
    components: Annotated[
        list[str],
        typer.Argument(
            help="Components to update (default: every outdated one).",
            autocompletion=project_component_names,
        ),
    ] = [],  # noqa: B006
    project: ProjectOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; write nothing.")
    ] = False,
    conflict: ConflictOption = "stop",
) -> None:
    """Take newer installed component versions in, merging with your edits."""
    from uts.change import current_spec, plan_change
    from uts.update import find_outdated, require_installed, select_updates

    markers = _conflict_mode(conflict)
    registry = _registry()
    with _changing(project, dry_run, registry) as state:
        require_installed(state, registry)
        updates = select_updates(find_outdated(state, registry), components, state)
        if not updates:
            which = " ".join(components) if components else "every component"
            typer.echo(f"nothing to update: {which} is at its installed version")
            return
        migrated = _migrate(registry, state, updates)
        report = plan_change(
            registry, migrated.state, current_spec(migrated.state), moves=migrated.moves
        )
        verb = "update " + ", ".join(o.label for o in updates)
        lines = _changed_by(report, state, registry, migrated.moves)
        _apply_change(report, dry_run, markers, verb, lines)


@app.command()
def outdated(
    project: ProjectOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List components installed at another version than the project records."""
    from uts.update import find_missing, find_outdated

    registry = _registry()
    state = _open_project(project, registry=registry)
    rows = [o._asdict() for o in find_outdated(state, registry)]
    missing = [m._asdict() for m in find_missing(state, registry)]
    if as_json:
        typer.echo(json.dumps({"outdated": rows, "missing": missing}, indent=2))
        return
    for item in missing:
        typer.echo(f"not installed: {item['name']} (provided by {item['provider']})", err=True)
    if not rows:
        typer.echo("every component is at its installed version")
        return
    from uts.report import table

    typer.echo(
        table(
            ["NAME", "RECORDED", "INSTALLED", "PROVIDER"],
            [[r["name"], r["recorded"], r["installed"], r["provider"] or "-"] for r in rows],
        )
    )


@app.command()
def check(project: ProjectOption = None) -> None:
    """Fail (exit 11) with one line per finding if the project is outdated or inconsistent."""
    from uts.errors import CheckError, StateError
    from uts.repair import state_findings
    from uts.state import find_project
    from uts.update import check_findings

    root = find_project(project or Path.cwd())
    _journal().recover(root)
    registry = _registry()
    try:
        state = _open_project(root, registry=registry)
    except StateError as error:  # unreadable state (a git conflict, say): say why, not just 9
        findings = [f"state: {line}" for line in state_findings(root, registry)]
        findings = findings or [f"state: {error.message}"]
    else:
        findings = check_findings(state, registry)
    for line in findings:
        _line(line)
    if findings:
        raise CheckError(
            f"{len(findings)} finding(s) in {root}",
            hint="'uts update' takes newer versions in, 'uts repair' mends the state after "
            "a merge; 'uts outdated' lists newer versions",
        )
    _line(f"ok: {root} is current")


def _take_updates(
    registry: "Registry", state: Any, command: str, update: bool, leaving: list[str] | None = None
) -> tuple[Any, dict[str, str], str]:
    """Refuse to let newer versions ride along, or (with --update) migrate them in.

    Components *leaving* the project need no update. Returns the state to plan from,
    the files migrations moved, and the verb prefix.
    """
    from uts.update import find_outdated, refuse_outdated, require_installed

    require_installed(state, registry)
    outdated = [o for o in find_outdated(state, registry) if o.name not in (leaving or [])]
    if not update:
        refuse_outdated(outdated, f"uts {command}")
        return state, {}, ""
    if not outdated:
        return state, {}, ""
    migrated = _migrate(registry, state, outdated)
    return migrated.state, migrated.moves, "update " + ", ".join(o.label for o in outdated) + "; "


def _migrate(registry: "Registry", state: Any, updates: list[Any]) -> Any:
    """Run the updated components' migrations, saying each step and each file moved."""
    from uts.update import migrate

    migrated = migrate(registry, state, updates)
    for name, start, end in migrated.steps:
        typer.echo(f"migrating {name} {start} → {end}", err=True)
    for path, old in sorted(migrated.moves.items()):
        typer.echo(f"moving {old} → {path} (with your edits)", err=True)
    return migrated


_DONE = {
    "create": "created",
    "update": "updated",
    "merged": "merged with your edits",
    "moved": "moved",
    "moved-merged": "moved (merged with your edits)",
    "delete": "deleted",
}


def _changed_by(
    report: Any, state: Any, registry: "Registry", moves: dict[str, str] | None = None
) -> list[str]:
    """One line per component whose version or files change: ``old → new`` and what changed."""
    moves = moves or {}
    recorded = state.tool["components"]
    merged = set(report.merged)
    rows: dict[str, dict[str, int]] = {}
    for change in report.plan.effective:
        if change.path in moves.values() and change.action == "delete":
            continue  # reported as the move it is part of
        action = "moved" if change.path in moves else change.action
        if change.path in merged:
            action = {"update": "merged", "moved": "moved-merged"}.get(action, action)
        counts = rows.setdefault(change.owner, {})
        counts[action] = counts.get(action, 0) + 1
    lines = []
    active = report.composition.context.components
    for name in [*recorded, *(n for n in active if n not in recorded)]:
        old = recorded.get(name, {}).get("version")
        new = registry.metadata[name].version if name in active else None
        counts = rows.get(name, {})
        if old == new and not counts:
            continue
        label = f"{name} {old or 'new'} → {new or 'removed'}" if old != new else name
        order = ("create", "update", "merged", "moved", "moved-merged", "delete")
        done = ", ".join(f"{counts[a]} {_DONE[a]}" for a in order if a in counts)
        lines.append(f"{label}: {done or 'no file changes'}")
    return lines


@app.command()
def adopt(
    project: Annotated[
        Path | None, typer.Option("--project", "-C", help="The project (default: here).")
    ] = None,
    app_ref: Annotated[
        str | None,
        typer.Option("--app", help="The application, as MODULE:ATTR, when there are several."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what was found; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Record what an existing FastAPI project is, without changing any of its files."""
    from uts.adopt import adopt_project

    adopt_project(project or Path.cwd(), app_ref, dry_run, as_json, typer.echo)


@app.command()
def repair(
    project: ProjectOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; write nothing.")
    ] = False,
) -> None:
    """Repair uts's state after a git merge: keep every record, decide disputed ones."""
    from uts.commit import commit
    from uts.objects import store_objects
    from uts.repair import plan_repair, state_findings
    from uts.state import MANIFEST_PATH, PROJECT_FILE, find_project

    root = find_project(project or Path.cwd())
    registry = _registry()
    with _writing(root, dry_run):
        if not (root / PROJECT_FILE).is_file() and (root / MANIFEST_PATH).is_file():
            _open_project(root, dry_run, registry)  # format 1: upgrading it is the repair
            if dry_run:
                return
        report = plan_repair(root, registry)
        plan = report.plan
        for path, how in sorted(report.decided.items()):
            _line(f"{path}: recorded as the {how} has it", err=True)
        changed = [change.path for change in plan.effective]
        if dry_run:
            typer.echo(plan.diff(), nl=False)
            typer.echo(f"dry run: would rewrite {len(changed)} state file(s); nothing was written")
            return
        if changed:
            store_objects(report.rendered)
            commit(plan)
        remaining = state_findings(root, registry)
        for finding in remaining:
            _line(f"still: {finding}", err=True)
        if remaining:
            typer.echo(f"repaired {len(changed)} state file(s); {len(remaining)} finding(s) remain")
            raise typer.Exit(9)
        typer.echo(
            f"repaired: {len(changed)} state file(s) rewritten; uts's state is consistent"
            if changed
            else "nothing to repair: uts's state is consistent"
        )


plugin_app = typer.Typer(help="Write plugins: third-party components.", no_args_is_help=True)
app.add_typer(plugin_app, name="plugin")


@plugin_app.command("new")
def plugin_new(
    name: Annotated[str, typer.Argument(help="Component name, e.g. redis-cache.")],
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="Where to write it (default: ./uts-NAME).")
    ] = None,
) -> None:
    """Write a plugin distribution for component NAME, ready to install and test."""
    import uts_plugins
    from uts.scaffold import write_plugin

    target = directory if directory is not None else Path(f"uts-{name}")
    files = write_plugin(name, target, list(uts_plugins.BUILTINS))
    typer.echo(f"created {len(files)} files in {target}")
    typer.echo(f'next: cd {target} && pip install -e ".[test]" && pytest')


def run(argv: list[str]) -> int:
    """Run the CLI; turn errors into one line plus a hint and a documented exit code."""
    global _command_line
    _command_line = " ".join(["uts", *argv])
    debug = "--debug" in argv
    command = typer.main.get_command(app)
    try:
        if any("\0" in arg for arg in argv):
            # No shell can pass one; a caller in-process can, and paths choke on it.
            raise UsageError(
                "an argument contains a NUL character", hint="pass plain text arguments"
            )
        code = command.main(args=argv, prog_name="uts", standalone_mode=False)
    except UtsError as error:
        if debug:
            raise
        _line(f"error: {error.message}", err=True)
        if error.hint:
            _line(f"hint: {error.hint}", err=True)
        return error.exit_code
    except typer.Exit as done:
        return int(done.exit_code)
    except SystemExit as done:  # how typer ends shell completion and --install-completion
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    except typer.TyperException as error:
        show = getattr(error, "show", None)
        if show is not None:
            show()
        return int(getattr(error, "exit_code", 2))
    except typer.Abort:  # Ctrl-C or end of input at a prompt
        raise KeyboardInterrupt from None
    except Exception as error:
        if debug:
            raise
        _line(f"internal error: {type(error).__name__}: {error}", err=True)
        typer.echo("hint: run again with --debug for the traceback, and report it", err=True)
        return 70
    # Without standalone mode, typer.Exit(code) raised by a command comes back as a value.
    # typer also turns a KeyboardInterrupt into a silent Exit(130): give it back, so the
    # caller prints the one line that says what the interrupt did.
    if code == 130:
        raise KeyboardInterrupt
    return code if isinstance(code, int) else 0
