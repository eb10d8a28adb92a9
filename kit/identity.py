"""The project's name and version, written once in pyproject.toml, and what else the server and the
setup tool read from it. Plain Python: the setup tool's commands start without the SDK's second."""

from __future__ import annotations

import re
import tomllib
from contextlib import suppress
from importlib import metadata
from pathlib import Path
from typing import Any, cast


def identity(module_file: str) -> tuple[str, str]:
    """The server's name and version, written once: in the pyproject.toml beside its module, or, once
    installed as a package (`uvx`), in that package's metadata."""
    if project := checkout_project(module_file):
        return project["name"], declared_version(project, Path(module_file).with_name("pyproject.toml"))
    module = Path(module_file).stem
    if not (distributions := metadata.packages_distributions().get(module)):
        raise SystemExit(
            f'{module}.py: name it in [project.scripts] of the pyproject.toml beside it (`<name> = "{module}:main"`),'
            " or install it as a package"
        )
    return distributions[0], metadata.version(distributions[0])


# What hatchling reads a version from, in a file that [tool.hatch.version] names (its default pattern).
VERSION_LINE = re.compile(r"""^(?:__version__|VERSION) *= *(['"])v?(?P<version>.+?)\1""", re.MULTILINE | re.IGNORECASE)


def declared_version(project: dict[str, Any], pyproject: Path) -> str:
    """[project]'s version as written; a dynamic one as the installed metadata has it, or as hatchling reads
    it from the file that [tool.hatch.version] names. Anything else is refused in one line."""
    if isinstance(version := project.get("version"), str) and version:
        return version
    if "version" not in project.get("dynamic", []):
        raise SystemExit(f"{pyproject}: [project] needs a `version`")
    with suppress(metadata.PackageNotFoundError):
        return metadata.version(project["name"])
    source = read_pyproject(pyproject).get("tool", {}).get("hatch", {}).get("version", {}).get("path")
    if isinstance(source, str):
        try:
            if found := VERSION_LINE.search((pyproject.parent / source).read_text(encoding="utf-8")):
                return found["version"]
        except (OSError, UnicodeDecodeError):
            pass
        raise SystemExit(f"{pyproject}: [tool.hatch.version] names {source}, which holds no readable __version__")
    raise SystemExit(
        f"{pyproject}: the version is dynamic, and no installed metadata or [tool.hatch.version] path gives it; "
        "write a `version` under [project] instead"
    )


def scripts(module_file: str) -> dict[str, str]:
    """The project's console scripts and the module each runs: the server's, and the setup tool's."""
    if project := checkout_project(module_file):
        return {name: str(target).split(":")[0] for name, target in project["scripts"].items()}
    distribution = metadata.distribution(identity(module_file)[0])
    return {point.name: point.module for point in distribution.entry_points if point.group == "console_scripts"}


def checkout_project(module_file: str) -> dict[str, Any] | None:
    """The [project] table of the pyproject.toml beside a module that it names as a script's; else None."""
    pyproject = Path(module_file).with_name("pyproject.toml")
    if not pyproject.is_file():
        return None
    project = read_pyproject(pyproject).get("project")
    if not isinstance(project, dict):
        return None
    project = cast(dict[str, Any], project)
    targets = project.get("scripts", {})
    if not isinstance(targets, dict) or not any(
        str(target).startswith(f"{Path(module_file).stem}:") for target in cast(dict[str, Any], targets).values()
    ):
        return None
    if not isinstance(project.get("name"), str) or not project["name"]:
        raise SystemExit(f'{pyproject}: [project] needs a name, such as `name = "my-server"`')
    return project


def read_pyproject(pyproject: Path) -> dict[str, Any]:
    """The parsed file; one that cannot be read is refused in one line naming it and the problem."""
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SystemExit(f"{pyproject}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise SystemExit(f"{pyproject}: not UTF-8 text") from None
    except OSError as error:
        raise SystemExit(f"{pyproject}: cannot be read: {error.strerror}") from None


def title(name: str) -> str:
    """A display name made from the server's name: "my-server" is "My Server"."""
    return name.replace("-", " ").replace("_", " ").title()
