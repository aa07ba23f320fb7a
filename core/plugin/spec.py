"""Hook specifications, in the order the engine calls them.

Phases: *declare* (``uts_component``, ``uts_recipes``) when plugins load; on ``uts
update``, *migrate* (``uts_migrate``) for each version step of an updated component;
then, for the active components only and in resolved order, *configure*
(``uts_configure``), *contribute* (``uts_contribute``), *finalize* (``uts_finalize``).
The core writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pluggy

from uts.migrate import Migration
from uts.model import Component, Context, Contributions, OwnFiles, TemplateHelpers

_spec = pluggy.HookspecMarker("uts")

__all__ = [
    "uts_component",
    "uts_configure",
    "uts_contribute",
    "uts_finalize",
    "uts_migrate",
    "uts_recipes",
    "uts_template_helpers",
]

# Phase: declare -----------------------------------------------------------------------


@_spec
def uts_component() -> Component:  # type: ignore[empty-body]
    """Declare the component this plugin provides: metadata, options and templates.

    Required, exactly once per plugin. Called when the plugin loads.

    .. versionadded:: 0.1
    """


@_spec
def uts_recipes() -> list[Path]:  # type: ignore[empty-body]
    """Return recipe files (TOML) this plugin ships; each is found by its file name.

    Name them after the component (``shop.toml``, ``shop-starter.toml``): uts imports
    a plugin to find a recipe only when the recipe's name starts with its component's.

    .. versionadded:: 0.1
    """


# Phase: migrate -----------------------------------------------------------------------


@_spec
def uts_migrate(from_version: str, to_version: str, project: Migration) -> None:
    """Carry a project's record of this component from one version to the next.

    Called by ``uts update`` (and ``add``/``remove --update``) once per version step,
    before the new version renders and is merged with the user's edits: from the
    project's recorded version to each of ``Component.releases`` in between, then
    to the installed version. Compare versions, do not assume every step is called
    (a project may skip releases you did not list). Not called for a downgrade's
    intermediate releases.

    :param from_version: the component version the step starts from.
    :param to_version: the component version the step arrives at.
    :param project: ``move(old, new)`` a file this component wrote (the user's edited
        content moves with it), ``rename_option(old, new)``, or rewrite recorded values
        through the ``options`` dict; ``files`` lists the component's files.

    .. versionadded:: 0.2
    """


# Phase: configure ---------------------------------------------------------------------


@_spec
def uts_configure(ctx: Context) -> None:
    """Check the resolved project before anything is produced.

    Raise ``uts.errors.OptionError`` (or any ``UtsError``) to refuse a combination of
    components or options; the message reaches the user with the component's name.

    :param ctx: the project: name, package, active components and their options.

    .. versionadded:: 0.1
    """


# Phase: contribute --------------------------------------------------------------------


@_spec
def uts_contribute(ctx: Context, out: Contributions) -> None:
    """Add dependencies, fragments for shared files, and computed files.

    Templates of the component's ``templates`` directory are rendered after every
    component contributed, so they can read every fragment.

    :param ctx: the project.
    :param out: the component's handle on the plan (``dependency``, ``fragment``, ``file``).

    .. versionadded:: 0.1
    """


@_spec
def uts_template_helpers(ctx: Context) -> TemplateHelpers | None:
    """Give Jinja filters, tests and globals to every template of the project.

    Called once per active component, after ``uts_contribute`` and before any template
    renders. Put logic that several templates need into a named, tested function
    instead of copying a Jinja expression. Every template of the project sees every
    active component's helpers (a template may use one of a component it requires). A
    name belongs to one component: a name two components give, or that uts's own
    filters, Jinja's built-ins or the template variables already use, is an error
    naming both sides.

    :param ctx: the project.
    :return: a ``TemplateHelpers(filters={...}, tests={...}, globals={...})``, or ``None``.

    .. versionadded:: 0.2
    """


# Phase: finalize ----------------------------------------------------------------------


@_spec
def uts_finalize(ctx: Context, files: Mapping[str, bytes], out: OwnFiles) -> None:
    """See every file of the plan before it is written; add or replace your own files.

    :param ctx: the project.
    :param files: project-relative path to content, for every file of the plan.
    :param out: writes files owned by this component (``out.file``). Writing another
        component's file, or calling ``dependency``, ``fragment`` or ``templates`` (too
        late: every template has rendered), raises a ``PluginError`` naming the component.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       ``out`` is an ``OwnFiles``: what ``Contributions`` silently dropped here is refused.
    """
