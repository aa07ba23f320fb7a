"""The ``uts`` command line (typer). Heavy imports happen inside the commands."""

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from uts import __version__
from uts.errors import UsageError, UtsError

if TYPE_CHECKING:
    from uts.plugin.manager import Registry

__all__ = ["app", "run"]

app = typer.Typer(
    name="uts",
    help="Compose Python service projects from pluggable components.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 error, 2 usage, 3 resolution, 4 option, 5 recipe, 6 plugin, "
    "7 render, 8 conflict, 9 state, 10 write, 70 internal error, 130 interrupted."
)


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
        typer.echo(
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


def _interactive(no_input: bool) -> bool:
    return not no_input and sys.stdin.isatty() and sys.stdout.isatty()


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Project name; the package name is derived from it.")],
    recipe: Annotated[
        str, typer.Option("--recipe", "-r", help="Recipe name or path to a TOML file.")
    ] = "mvp",
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="Where to create it (default: ./NAME).")
    ] = None,
    with_: Annotated[list[str], typer.Option("--with", help="Add a component (repeatable).")] = [],  # noqa: B006
    without: Annotated[
        list[str], typer.Option("--without", help="Drop a component (repeatable).")
    ] = [],  # noqa: B006
    set_: Annotated[
        list[str], typer.Option("--set", help="Set an option: COMPONENT.OPTION=VALUE (repeatable).")
    ] = [],  # noqa: B006
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
    from uts.recipe import find_recipes, load_recipe

    package_name(name)
    registry = _registry()
    chosen = load_recipe(recipe, find_recipes(lambda: registry.recipe_files))
    # The recipe's values for a component dropped with --without go with it.
    options: dict[str, dict[str, Any]] = {
        k: dict(v) for k, v in chosen.options.items() if k not in without
    }
    for component, values in _parse_sets(set_).items():
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
    plan = plan_new(root, composition.files, force=force)
    for added, by in composition.resolution.added_for.items():
        typer.echo(f"adding {added!r}: required by {by!r}", err=True)
    if dry_run:
        typer.echo(plan.diff(), nl=False)
        counts = plan.counts()
        typer.echo(
            f"dry run: would create {counts['create']} file(s) in {root} "
            f"({counts['keep']} already identical); nothing was written"
        )
        return
    commit(plan)
    from uts.report import created_summary

    typer.echo(created_summary(root, composition, plan))


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
    rows = [
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
            typer.echo(f"  {e['name']} ({e['source']}): {e['error']}", err=True)


@app.command()
def recipes(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the recipes: built-in tiers and those shipped by plugins."""
    from uts.recipe import find_recipes, load_recipe

    registry = _registry()
    available = find_recipes(registry.recipe_files)
    rows = []
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
    component: Annotated[str, typer.Argument(help="Component name.")],
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


@app.command()
def status(
    project: ProjectOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the recipe, active components and what changed since uts wrote the files."""
    from uts.state import find_project, load_project

    state = load_project(find_project(project or Path.cwd()))
    drift = state.drift()
    components = state.tool["components"]
    if as_json:
        data = {
            "project": str(state.root),
            "recipe": state.tool.get("recipe"),
            "uts": state.tool.get("version"),
            "components": components,
            "drift": [{"path": d.path, "owner": d.owner, "status": d.status} for d in drift],
        }
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(
        f"{state.tool.get('project-name', state.root.name)} at {state.root} "
        f"(recipe {state.tool.get('recipe')!r}, written by uts {state.tool.get('version')})"
    )
    typer.echo("components:")
    for name, data in components.items():
        options = " ".join(f"{k}={v}" for k, v in data.get("options", {}).items())
        typer.echo(f"  {name} {data['version']}" + (f"  {options}" if options else ""))
    if not drift:
        typer.echo("no changes: every file is as uts wrote it")
        return
    typer.echo(f"changed since uts wrote them ({len(drift)}):")
    for item in drift:
        typer.echo(f"  {item.status:<9} {item.path}  ({item.owner})")


@app.command()
def diff(
    paths: Annotated[list[str], typer.Argument(help="Only these files (default: all).")] = [],  # noqa: B006
    project: ProjectOption = None,
) -> None:
    """Show what the user changed compared with what uts wrote, as a unified diff."""
    from uts.plan import Change, Plan
    from uts.state import find_project, load_project

    state = load_project(find_project(project or Path.cwd()))
    wanted = {Path(p).as_posix().removeprefix("./") for p in paths}
    unknown = wanted - set(state.files)
    if unknown:
        raise UsageError(
            f"uts did not write {', '.join(sorted(unknown))}",
            hint="uts status lists the files it wrote",
        )
    changes = []
    for item in state.drift():
        if wanted and item.path not in wanted:
            continue
        target = state.root.joinpath(*item.path.split("/"))
        current = target.read_bytes() if item.status == "modified" else None
        action = "update" if current is not None else "delete"
        changes.append(Change(item.path, action, item.owner, state.pristine(item.path), current))
    typer.echo(Plan(state.root, changes).diff(), nl=False)


def _apply_change(report: Any, dry_run: bool, markers: bool, verb: str) -> None:
    """Show or commit a change to an existing project; conflicts stop it unless *markers*."""
    from uts.commit import commit
    from uts.errors import ConflictError

    plan = report.plan
    for path in report.left_deleted:
        typer.echo(f"note: {path} was deleted by you; uts leaves it deleted", err=True)
    for path in report.kept:
        typer.echo(f"kept {path}: you modified it (--delete-modified removes it)", err=True)
    for path, (owner, hint) in sorted(report.held.items()):
        typer.echo(
            f"note: {path} is history that {owner!r} writes once; uts leaves it as it is"
            + (f" ({hint})" if hint else ""),
            err=True,
        )
    if report.conflicts and not markers:
        listing = ", ".join(f"{p} ({n})" for p, n in sorted(report.conflicts.items()))
        raise ConflictError(
            f"your edits overlap what uts must change in: {listing}; nothing was changed",
            hint="resolve by hand, or rerun with --conflict=markers to write conflict markers",
        )
    counts = plan.counts()
    summary = (
        f"{counts['create']} created, {counts['update']} updated "
        f"({len(report.merged)} merged with your edits), {counts['delete']} deleted"
    )
    if dry_run:
        typer.echo(plan.diff(), nl=False)
        typer.echo(f"dry run: would {verb}: {summary}; nothing was written")
        return
    if not plan.effective:
        typer.echo(f"nothing to change: {verb} leaves the project as it is")
        return
    commit(plan)
    typer.echo(f"{verb}: {summary}")
    if report.conflicts:
        for path, count in sorted(report.conflicts.items()):
            typer.echo(
                f"conflict: {path} has {count} conflict marker block(s) to resolve", err=True
            )
        raise typer.Exit(8)


ConflictOption = Annotated[
    str,
    typer.Option(
        "--conflict",
        help="When your edits overlap uts's: 'stop' (change nothing) or 'markers'.",
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
    components: Annotated[list[str], typer.Argument(help="Components to add.")],
    set_: Annotated[
        list[str], typer.Option("--set", help="Set an option: COMPONENT.OPTION=VALUE (repeatable).")
    ] = [],  # noqa: B006
    project: ProjectOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; write nothing.")
    ] = False,
    conflict: ConflictOption = "stop",
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt.")] = False,
) -> None:
    """Add components to an existing project, merging with your edits."""
    from uts.change import plan_change, spec_for_add
    from uts.state import find_project, load_project

    markers = _conflict_mode(conflict)
    state = load_project(find_project(project or Path.cwd()))
    active = state.tool["components"]
    new = [name for name in components if name not in active or active[name].get("auto")]
    for name in components:
        if name in active and name not in new:
            typer.echo(f"{name} is already part of this project", err=True)
    sets = _parse_sets(set_)
    if not new and not sets:
        typer.echo("nothing to change")
        return
    registry = _registry()
    spec = spec_for_add(state, new, sets)
    ask = _prompt if _interactive(no_input) else None
    report = plan_change(registry, state, spec, ask)
    for added, by in report.composition.resolution.added_for.items():
        if added not in active:
            typer.echo(f"adding {added!r}: required by {by!r}", err=True)
    _apply_change(report, dry_run, markers, "add " + " ".join(new or components))


@app.command()
def remove(
    components: Annotated[list[str], typer.Argument(help="Components to remove.")],
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
) -> None:
    """Remove components: their files, dependencies and fragments, keeping your edits."""
    from uts.change import plan_change, spec_for_remove
    from uts.state import find_project, load_project

    markers = _conflict_mode(conflict)
    state = load_project(find_project(project or Path.cwd()))
    registry = _registry()
    spec, removed = spec_for_remove(state, registry, list(components), cascade)
    extra = [name for name in removed if name not in components]
    if extra:
        typer.echo(f"also removing: {', '.join(extra)}", err=True)
    report = plan_change(registry, state, spec, delete_modified=delete_modified)
    _apply_change(report, dry_run, markers, "remove " + " ".join(removed))


def run(argv: list[str]) -> int:
    """Run the CLI; turn errors into one line plus a hint and a documented exit code."""
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
        typer.echo(f"error: {error.message}", err=True)
        if error.hint:
            typer.echo(f"hint: {error.hint}", err=True)
        return error.exit_code
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.TyperException as error:
        show = getattr(error, "show", None)
        if show is not None:
            show()
        return int(getattr(error, "exit_code", 2))
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted: nothing was changed", err=True)
        return 130
    except Exception as error:
        if debug:
            raise
        typer.echo(f"internal error: {type(error).__name__}: {error}", err=True)
        typer.echo("hint: run again with --debug for the traceback, and report it", err=True)
        return 70
    # Without standalone mode, typer.Exit(code) raised by a command comes back as a value.
    return code if isinstance(code, int) else 0
