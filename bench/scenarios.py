"""The benchmark scenarios: each builds a group of commands, checking outputs before any timing."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench import envs, synth
from bench.report import Row, profile_summary
from bench.synth import PROJECT, VALUES
from bench.timing import BenchError, Command, child_env, interleave, run_once

__all__ = [
    "Context",
    "Group",
    "add_monitoring_group",
    "discovery_group",
    "profile_new",
    "real_work_group",
    "render_group",
    "startup_group",
    "time_group",
    "update_group",
]

UTS_EXCLUDE = (".uts/",)
"""uts's own bookkeeping, left out of the identical-tree check (its state is always written)."""

_COPYTREE = "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2])"


@dataclass(frozen=True)
class Context:
    """Where to work and which tools to run."""

    work: Path
    tools: envs.Tools
    log: Path


@dataclass
class _Entry:
    label: str
    command: Command | None
    status: str
    ref: str | None


@dataclass
class Group:
    """Commands timed together (interleaved), plus rows that only carry a status."""

    name: str
    entries: list[_Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, label: str, command: Command | None, status: str = "", ref: str | None = None
    ) -> None:
        self.entries.append(_Entry(label, command, status, ref))


def time_group(group: Group, runs: int, warmup: int, log: Path) -> list[Row]:
    """Time the group's commands interleaved; rows keep the group's order."""
    commands = [entry.command for entry in group.entries if entry.command is not None]
    samples = interleave(commands, runs, warmup, log)
    return [
        Row(group.name, e.label, samples.get(e.label, []) if e.command else [], e.ref, e.status)
        for e in group.entries
    ]


def _clear(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _command(
    label: str, argv: list[str | Path], out: Path | None = None, env: dict[str, str] | None = None
) -> Command:
    """A command whose output directory *out* (if any) is removed before every run."""
    prepare = (lambda: _clear(out)) if out is not None else None
    return Command(label, [str(arg) for arg in argv], env=env, prepare=prepare)


def startup_group(ctx: Context) -> Group:
    """Start-up cost: version and help of each tool, ``uts list``, and a bare interpreter."""
    tools = ctx.tools
    group = Group("startup")
    ref = "uts --version"
    for label, exe, args in [
        ("uts --version", tools.uts, ["--version"]),
        ("uts --help", tools.uts, ["--help"]),
        ("uts list", tools.uts, ["list"]),
        ("copier --version", tools.copier, ["--version"]),
        ("cookiecutter --version", tools.cookiecutter, ["--version"]),
    ]:
        command = _command(label, [exe, *args]) if exe else None
        group.add(label, command, "" if exe else "not installed", ref)
    # A Tab in bash, as typer's completion script asks: a component name (no plugin
    # imported), then an option name (its one plugin imported).
    for label, words in [
        ("uts Tab: new demo --with c", "uts new demo --with c"),
        ("uts Tab: new demo --set crud.", "uts new demo --set crud."),
    ]:
        env = {"_UTS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "4"}
        command = _command(label, [tools.uts], env=env) if tools.uts else None
        group.add(label, command, "" if tools.uts else "not installed", ref)
    group.add(
        "floor: python -c pass",
        _command("floor: python -c pass", [tools.python, "-c", "pass"]),
        ref=ref,
    )
    _pytest_rows(ctx, group)
    return group


def _pytest_rows(ctx: Context, group: Group) -> None:
    """What uts.testing (loaded in every pytest run where uts is installed) costs a run of
    one trivial test that uses none of its fixtures: with it, and without (``-p no:uts``)."""
    import importlib.util

    suite = ctx.work / "pytest-startup"
    suite.mkdir(parents=True, exist_ok=True)
    (suite / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    (suite / "pytest.ini").write_text("[pytest]\n")
    has_pytest = importlib.util.find_spec("pytest") is not None
    base = [ctx.tools.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)]
    for label, extra in (
        ("pytest, one test (uts.testing loaded)", []),
        ("pytest, one test, -p no:uts", ["-p", "no:uts"]),
    ):
        command = _command(label, [*base, *extra]) if has_pytest else None
        group.add(
            label, command, "" if has_pytest else "not installed", "pytest, one test, -p no:uts"
        )


def _cookiecutter_config(root: Path) -> Path:
    config = root / "cookiecutter-config.yaml"
    config.write_text(
        f'cookiecutters_dir: "{root / "cookiecutters"}"\nreplay_dir: "{root / "replay"}"\n'
    )
    return config


@dataclass(frozen=True)
class _Renderer:
    """How one tool renders the synthetic template: its command, and where the tree lands."""

    label: str
    exe: str | None
    args: list[str | Path]
    out: Path
    tree: Path
    exclude: tuple[str, ...] = ()


def _renderers(ctx: Context, root: Path, size: int) -> tuple[list[_Renderer], dict[str, str]]:
    """Write the template in each format under *root*; the commands, and their environment."""
    tools, out = ctx.tools, root / "out"
    uts = synth.write_uts(root / "uts", size)
    copier = synth.write_copier(root / "copier", size)
    cookiecutter = synth.write_cookiecutter(root / "cookiecutter", size)
    expected = synth.write_tree(root / "expected", synth.expected_tree(size))
    options = [name for name in VALUES if name not in ("project_name", "package")]
    sets = [a for name in options for a in ("--set", f"{synth.COMPONENT}.{name}={VALUES[name]}")]
    data = [a for name, value in VALUES.items() for a in ("--data", f"{name}={value}")]
    extra = [f"{name}={value}" for name, value in VALUES.items()]
    config = _cookiecutter_config(root)
    new: list[str | Path] = [
        "new",
        PROJECT,
        "--recipe",
        uts.recipe,
        "--dir",
        out / "uts",
        "--no-input",
        *sets,
    ]
    bake: list[str | Path] = [
        "--no-input",
        "--config-file",
        config,
        "--output-dir",
        out / "cookiecutter",
    ]
    path = os.pathsep.join(filter(None, [str(uts.site), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": path}  # the same for every tool, so all pay for it
    return [
        _Renderer("uts new", tools.uts, new, out / "uts", out / "uts", UTS_EXCLUDE),
        _Renderer(
            "copier copy", tools.copier, ["copy", "--defaults", *data, copier, out / "copier"],
            out / "copier", out / "copier",
        ),
        _Renderer(
            "cookiecutter", tools.cookiecutter, [*bake, cookiecutter, *extra],
            out / "cookiecutter", out / "cookiecutter" / PROJECT,
        ),
        _Renderer(
            "floor: python + copytree", tools.python, ["-c", _COPYTREE, expected, out / "copy"],
            out / "copy", out / "copy",
        ),
    ], env  # fmt: skip


def render_group(ctx: Context, size: int) -> Group:
    """Render the synthetic template with each tool; every tree is checked byte for byte first."""
    root = ctx.work / f"render-{size}"
    renderers, env = _renderers(ctx, root, size)
    expected = synth.expected_tree(size)
    group = Group(f"render {size:,} file{'s' if size != 1 else ''}")
    for tool in renderers:
        if tool.exe is None:
            group.add(tool.label, None, "not installed", ref="uts new")
            continue
        command = _command(tool.label, [tool.exe, *tool.args], tool.out, env=env)
        run_once(command, ctx.log)
        problems = synth.compare(expected, synth.snapshot(tool.tree, tool.exclude))
        if problems:
            raise BenchError(
                f"{tool.label} did not render the expected tree ({size} files):\n"
                + "\n".join(problems)
            )
        group.add(tool.label, command, ref="uts new")
    return group


def _output(argv: list[str | Path]) -> str:
    """Run *argv* untimed, in the timed commands' environment; its stdout, or BenchError."""
    args = [str(arg) for arg in argv]
    done = subprocess.run(args, capture_output=True, text=True, env=child_env(), check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def recipes(uts: str) -> list[str]:
    """The recipe names ``uts recipes --json`` reports."""
    return [item["name"] for item in json.loads(_output([uts, "recipes", "--json"]))]


def real_work_group(ctx: Context) -> Group:
    """``uts new demo --recipe R`` for every recipe ``uts recipes`` lists."""
    group = Group("real work")
    uts = ctx.tools.uts
    if uts is None:
        group.add("uts new demo --recipe mvp", None, "not installed")
        return group
    for name in recipes(uts):
        label = f"uts new demo --recipe {name}"
        out = ctx.work / "real" / name
        command = _command(
            label, [uts, "new", "demo", "--recipe", name, "--dir", out, "--no-input"], out
        )
        run_once(command, ctx.log)
        group.add(label, command)
    return group


def discovery_group(ctx: Context, plugins: int) -> Group:
    """``uts --version`` and ``uts list`` in throwaway venvs with 0 and *plugins* plugins."""
    group = Group("plugin discovery")
    labels = [f"uts {cmd}, {n} plugins" for cmd in ("--version", "list") for n in (0, plugins)]
    uv = envs.find_uv()
    if uv is None:
        for label in labels:
            group.add(label, None, "skipped: uv not found")
        return group
    executables = {}
    for count in (0, plugins):
        python = envs.make_venv(ctx.work / f"venv-{count}-plugins", uv)
        names = envs.install_plugins(python, count)
        uts = str(python.parent / "uts")
        listed = json.loads(_output([uts, "list", "--json"]))
        found = {item["name"] for item in listed["components"]}
        if not set(names) <= found or listed["errors"]:
            raise BenchError(
                f"uts list in the {count}-plugin venv: missing {set(names) - found}, "
                f"errors {listed['errors']}"
            )
        executables[count] = uts
    for cmd in ("--version", "list"):
        for count in (0, plugins):
            label = f"uts {cmd}, {count} plugins"
            ref = f"uts {cmd}, 0 plugins"
            group.add(label, _command(label, [executables[count], cmd]), ref=ref)
    group.notes.append(
        "plugin discovery: uts installed (not editable) from this checkout into throwaway venvs, "
        f"plus {plugins} generated plugin distributions in one of them"
    )
    return group


# --- HOOK: `uts add monitoring` ------------------------------------------------------------
# Times `uts add monitoring` (run inside the project) on a fresh copy of a
# `uts new demo --recipe mvp` project, with 0 and with 10,000 extra user files, once this uts
# has both the `add` command and the `monitoring` component.
ADD_ARGV = ["add", "monitoring", "--no-input"]
ADD_USER_FILES = (0, 10_000)


def add_available(uts: str) -> bool:
    """Whether this uts has an ``add`` command and a ``monitoring`` component."""
    for argv in ([uts, "add", "--help"], [uts, "info", "monitoring"]):
        done = subprocess.run(argv, capture_output=True, env=child_env(), check=False)
        if done.returncode != 0:
            return False
    return True


def add_monitoring_group(ctx: Context) -> Group:
    """HOOK: ``uts add monitoring`` with 0 and 10,000 user files, or "not available yet"."""
    group = Group("uts add (hook)")
    labels = [f"uts add monitoring, {n:,} user files" for n in ADD_USER_FILES]
    uts = ctx.tools.uts
    if uts is None or not add_available(uts):
        for label in labels:
            group.add(label, None, "not available yet")
        return group
    for label, count in zip(labels, ADD_USER_FILES, strict=True):
        base = ctx.work / "add" / f"base-{count}"
        _output([uts, "new", "demo", "--recipe", "mvp", "--dir", base, "--no-input"])
        for number in range(count):
            synth.write_tree(
                base / "userdata" / f"d{number % 100:02d}", {f"f{number:05d}.txt": f"{number}\n"}
            )
        project = ctx.work / "add" / f"run-{count}"

        def reset(base: Path = base, project: Path = project) -> None:
            _clear(project)
            shutil.copytree(base, project, symlinks=True)

        command = Command(label, [uts, *ADD_ARGV], cwd=project, prepare=reset)
        run_once(command, ctx.log)
        group.add(label, command, ref=labels[0])
    return group


# --- end of HOOK ----------------------------------------------------------------------------


ADOPT_FIXTURE = envs.REPO / "tests" / "fixtures" / "foreign" / "routers_pkg"
ADOPT_EXTRA_FILES = (0, 10_000)


def adopt_group(ctx: Context) -> Group:
    """``uts adopt`` then ``uts add monitoring`` on a foreign project (tests/fixtures/foreign/
    routers_pkg) as it is and with 10,000 extra files: the cost must not grow with them."""
    group = Group("uts adopt + add monitoring")
    uts = ctx.tools.uts
    labels = [f"uts adopt; uts add monitoring, {n:,} extra files" for n in ADOPT_EXTRA_FILES]
    if uts is None:
        for label in labels:
            group.add(label, None, "not installed")
        return group
    for label, count in zip(labels, ADOPT_EXTRA_FILES, strict=True):
        base = ctx.work / "adopt" / f"base-{count}"
        _clear(base)
        shutil.copytree(ADOPT_FIXTURE, base)
        for number in range(count):  # Python too: modules nobody imports are never read
            name = f"m{number:05d}.py" if number % 2 else f"f{number:05d}.txt"
            synth.write_tree(base / "data" / f"d{number % 100:02d}", {name: f"x = {number}\n"})
        project = ctx.work / "adopt" / f"run-{count}"

        def reset(base: Path = base, project: Path = project) -> None:
            _clear(project)
            shutil.copytree(base, project, symlinks=True)

        where = shlex.quote(str(project))
        script = f"{shlex.quote(uts)} adopt -C {where} >/dev/null && "
        script += f"{shlex.quote(uts)} add monitoring -C {where}"
        command = Command(label, ["sh", "-c", script], cwd=None, prepare=reset)
        run_once(command, ctx.log)
        group.add(label, command, ref=labels[0])
    return group


UPDATE_SIZE, UPDATE_CHANGED = 200, 20


def update_group(ctx: Context) -> list[Group]:
    """``uts update``, ``copier update`` and ``cruft update`` from release 1.0.0 to 2.0.0 of the
    synthetic template (200 files, 20 changed, the same user edits merged); then ``uts list``,
    ``uts outdated`` and ``uts check`` in the updated uts project."""
    from bench import update

    tools = ctx.tools
    found = {"uts": tools.uts, "copier": tools.copier, "cruft": tools.cruft}
    root = ctx.work / "update"
    _clear(root)
    setup = update.setup(root, UPDATE_SIZE, UPDATE_CHANGED, found)
    group = Group(f"update {UPDATE_SIZE} files, {UPDATE_CHANGED} changed")
    for label in ("uts update", "copier update", "cruft update"):
        if label not in setup.commands:
            group.add(label, None, "not installed", ref="uts update")
            continue
        command, project = setup.command(label, root)
        run_once(command, ctx.log)
        update.check_updated(project, UPDATE_SIZE, UPDATE_CHANGED, label)
        if label == "uts update":  # kept for timing outdated and check on a current project
            shutil.copytree(project, root / "uts-current", symlinks=True)
        group.add(label, command, ref="uts update")
    group.notes.append(
        f"update: each tool updates its own project from release 1.0.0 to 2.0.0 of the synthetic "
        f"template ({UPDATE_SIZE} files, {UPDATE_CHANGED} changed by the release, "
        f"{UPDATE_CHANGED} edited by the user, half of them among the changed ones and merged); "
        "the project is a clean git repository copied afresh (untimed) before each run, and "
        "every result is checked once before timing"
    )
    costs = Group("uts outdated/check")
    if "uts update" in setup.commands:
        project = root / "uts-current"
        for label, args in [
            ("uts list", ["list"]),
            ("uts outdated", ["outdated"]),
            ("uts check", ["check"]),
        ]:
            command = Command(label, [str(tools.uts), *args], env=setup.uts_env, cwd=project)
            run_once(command, ctx.log)
            costs.add(label, command, ref="uts list")
    return [group, costs]


def profile_new(ctx: Context, size: int, top: int = 20) -> str:
    """cProfile ``uts new`` on the synthetic template of *size* files; the top functions as text."""
    group = render_group(ctx, size)
    command = next(e.command for e in group.entries if e.label == "uts new" and e.command)
    profile = ctx.work / f"uts-new-{size}.prof"
    argv = [ctx.tools.python, "-m", "cProfile", "-o", str(profile), "-m", "uts", *command.argv[1:]]
    run_once(Command("uts new (cProfile)", argv, command.env, prepare=command.prepare), ctx.log)
    return profile_summary(profile, f"uts new, {size} files", top)
