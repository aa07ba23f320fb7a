"""Find the tools being compared, and build throwaway venvs with uts and generated plugins."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.synth import write_dist
from bench.timing import BenchError

__all__ = ["REPO", "Tools", "find_tools", "find_uv", "install_plugins", "make_venv"]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Tools:
    """Executables of one environment; ``None`` for a tool that is not installed there."""

    python: str
    uts: str | None
    copier: str | None
    cookiecutter: str | None
    cruft: str | None = None


def _script(bin_dir: Path, name: str, search_path: bool) -> str | None:
    candidate = bin_dir / name
    if candidate.is_file():
        return str(candidate)
    return shutil.which(name) if search_path else None


def find_tools(python: str = sys.executable, search_path: bool = True) -> Tools:
    """The console scripts next to *python* (then on PATH, if *search_path*)."""
    bin_dir = Path(python).parent
    return Tools(
        python=python,
        uts=_script(bin_dir, "uts", search_path),
        copier=_script(bin_dir, "copier", search_path),
        cookiecutter=_script(bin_dir, "cookiecutter", search_path),
        cruft=_script(bin_dir, "cruft", search_path),
    )


def find_uv() -> str | None:
    """The uv executable: next to this Python, on PATH, or shipped by the ``uv`` package."""
    found = _script(Path(sys.executable).parent, "uv", search_path=True)
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")


def make_venv(path: Path, uv: str, repo: Path = REPO) -> Path:
    """Create a venv at *path* with uts installed (not editable) from *repo*; return its Python."""
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(path)])
    python = path / "bin" / "python"
    _run([uv, "pip", "install", "--quiet", "--python", str(python), str(repo)])
    return python


_PLUGIN_SOURCE = '''\
"""Generated third-party uts plugin {number} for the discovery benchmark."""

from uts.plugin import Component, Context, Contributions, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name="benchplugin{number:02d}",
        version="1.0.0",
        summary="Generated plugin {number}.",
        requires=("project",),
        options=(Option("level", default="info"), Option("port", type=int, default=8000)),
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.dependency("benchdep{number:02d}>=1")
'''


def install_plugins(python: Path, count: int) -> list[str]:
    """Install *count* generated plugins into the venv of *python*; return their names."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = python.parent.parent / "lib" / version / "site-packages"
    names = []
    for number in range(count):
        module = f"uts_bench_plugin_{number:02d}"
        name = f"benchplugin{number:02d}"
        write_dist(site, module, _PLUGIN_SOURCE.format(number=number), {name: module})
        names.append(name)
    return names
