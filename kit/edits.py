"""install, uninstall and restore: the edits to Claude Desktop's config, refused beside an entry the app
would reject, and each reported in a few lines; and the entry the app would run, which check starts.
"""

from __future__ import annotations

import difflib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kit.apps import (
    DesktopInstall,
    how_to_quit,
    launch_entry,
    prepare_environment,
    refuse_while_running,
    report_prepared,
)
from kit.config_file import (
    EDIT_ATTEMPTS,
    KEEP_BACKUPS,
    WIPES_ALL,
    Change,
    ConfigChanged,
    editing,
    is_stale,
    loadable_backups,
    lost_servers,
    make_folder,
    read_config,
    rejected_entries,
    replace_config,
    serialize_config,
    stale_keys,
    stdio_rejection,
)
from kit.project import SetupError, command_line, own_command


@dataclass(frozen=True)
class Edit:
    """What an edit of the config did, or would do on a dry run."""

    target: Path
    done: str | None  # None: nothing needed changing.
    before: bytes | None = None  # None: there was no file.
    after: bytes = b""
    backup: Path | None = None


def edit_config(config_path: Path, change: Change, dry_run: bool) -> Edit:
    """Apply `change` to the config safely, or only work out what it would write; never while the app runs."""
    target = Path(os.path.realpath(config_path))  # Write through a symlinked config, not over it.
    if not dry_run:
        refuse_while_running(config_path)
    try:
        for _ in range(EDIT_ATTEMPTS):
            with editing(target) as folder_exists:
                before, config = read_config(target)
                if (done := change(config)) is None:
                    return Edit(target, None)
                data = serialize_config(target, config)
                if before and b"\r\n" in before:  # Windows line ends stay; JSON text holds no raw newline.
                    data = data.replace(b"\n", b"\r\n")
                if dry_run:
                    return Edit(target, done, before, data)
                if not folder_exists:  # Create it, then edit again under its lock.
                    make_folder(target.parent)
                    continue
                if before is not None and not stat.S_IMODE(os.stat(target).st_mode) & stat.S_IWUSR:
                    raise SetupError(f"{target} is read-only; make it writable first if you want it changed.")
                try:
                    return Edit(target, done, before, data, replace_config(target, before, data))
                except ConfigChanged:  # A program that ignores the lock (Claude Desktop) saved it.
                    continue
        raise SetupError(f"{target} kept changing while it was being edited; try again.")
    except OSError as error:
        raise SetupError(f"cannot write {target}: {error.strerror}.") from None


def install(
    app: DesktopInstall, name: str, dry_run: bool, entry: dict[str, Any] | None = None, allow_rejected: bool = False
) -> None:
    """Add or update this server's entry (by default, this checkout's) in the config that Claude Desktop reads,
    with the environment it starts in made ahead of the app."""
    if not app.found and not app.named:
        raise SetupError(
            f"found no Claude Desktop here ({app.kind}: no app, and no {app.config.parent}); install and start it "
            f"once, then run this again, or create {app.config} anyway with --config {command_line([str(app.config)])}."
        )
    if not dry_run:
        refuse_while_running(app.config)  # Before the first start, which takes a while; the edit checks again.
    entry = entry or launch_entry(None)
    removed: list[str] = []

    def add(config: dict[str, Any]) -> str | None:
        if (rejected := rejected_entries(config, app.config, name)) and not allow_rejected:
            raise SetupError(f"{rejected}. {WIPES_ALL}. Fix that first, or pass --allow-rejected to write anyway.")
        servers: dict[str, Any] = config.setdefault("mcpServers", {})
        found: Any = servers.get(name)
        current = cast(dict[str, Any], found) if isinstance(found, dict) else {}
        removed[:] = stale_keys(current)
        kept = {key: value for key, value in current.items() if not is_stale(key, value)}
        wanted = {**kept, **entry}
        if "env" in entry and isinstance(kept.get("env"), dict):
            wanted["env"] = {**kept["env"], **entry["env"]}
        if wanted == current:
            return None
        servers[name] = wanted
        return "Updated" if found is not None else "Added"

    edit = edit_config(app.config, add, dry_run=True)
    if not app.named:
        print(f"Claude Desktop here: {app.kind}; it reads {app.config}")
    if app.ignored:
        print(f"Not read by this app, so left as it is: {app.ignored}")
    took_out = f" It takes out {', '.join(removed)}, which would keep it from starting." if removed else ""
    if dry_run and edit.done is not None:
        report_dry_run(edit, f'{"add" if edit.done == "Added" else "update"} "{name}"')
        print(took_out.strip(), end="\n" if took_out else "")
        return
    seconds = None if dry_run else prepare_environment(entry)
    if seconds is not None and edit.done is not None:
        edit = edit_config(app.config, add, dry_run=False)
    if edit.done is None:
        print(f'"{name}" in {edit.target} is already up to date; nothing was written.')
    else:
        print(f'{edit.done} "{name}" in {edit.target}.{took_out}')
        report_written(edit)
        print(f"Its log: {app.log_file(name)}")
    if seconds is not None:
        report_prepared(seconds)


def uninstall(app: DesktopInstall, name: str, dry_run: bool) -> None:
    """Remove this server's entry from the config Claude Desktop reads; everything else stays as it was."""

    def remove(config: dict[str, Any]) -> str | None:
        servers: dict[str, Any] = config.get("mcpServers", {})
        if name not in servers:
            return None
        del servers[name]
        return "Removed"

    edit = edit_config(app.config, remove, dry_run)
    report_edit(
        edit, dry_run, f'"{name}" is not in {edit.target}', f'remove "{name}"', f'Removed "{name}" from {edit.target}'
    )


def restore(app: DesktopInstall, dry_run: bool) -> None:
    """Put back what the config lost since a backup: the newest that Claude Desktop would load and that
    holds a server or setting the file no longer has. What the file holds now stays as it is."""
    restored: list[str] = []

    def put_back(config: dict[str, Any]) -> str | None:
        servers: dict[str, Any] = config.get("mcpServers", {})
        for backup, content in loadable_backups(app.config):
            held: dict[str, Any] = content.get("mcpServers", {})
            restored[:] = [json.dumps(server, ensure_ascii=False) for server in held if server not in servers]
            settings = {key: value for key, value in content.items() if key not in config and key != "mcpServers"}
            if restored or settings:
                config.update(settings)
                if restored:
                    config.setdefault("mcpServers", {}).update({key: held[key] for key in held if key not in servers})
                restored.extend(json.dumps(key, ensure_ascii=False) for key in settings)
                return str(backup)
        return None

    edit = edit_config(app.config, put_back, dry_run)
    report_edit(
        edit,
        dry_run,
        f"{edit.target} holds everything its backups hold",
        f"restore {', '.join(restored)} from {edit.done}",
        f"Restored {', '.join(restored)} in {edit.target}, from {edit.done}",
    )


def report_edit(edit: Edit, dry_run: bool, unchanged: str, action: str, done: str) -> None:
    """Say what an edit did: `unchanged` when it needed none; on a dry run, what `action` would change; or `done`."""
    if edit.done is None:
        print(f"{unchanged}; nothing was written.")
    elif dry_run:
        report_dry_run(edit, action)
    else:
        print(f"{done}.")
        report_written(edit)


def report_dry_run(edit: Edit, action: str) -> None:
    """Show the file a dry run would write: whole when it would be created, else as a diff."""
    after = edit.after.decode("utf-8")
    if edit.before is None:
        print(f"Would {action} by creating {edit.target} with:")
        print(after, end="")
        return
    print(f"Would {action} in {edit.target}, keeping a backup of it; the changes:")
    lines = difflib.unified_diff(
        edit.before.decode("utf-8-sig").splitlines(),
        after.splitlines(),
        fromfile=f"{edit.target} (now)",
        tofile=f"{edit.target} (after)",
        lineterm="",
    )
    print("\n".join(lines))


def report_written(edit: Edit) -> None:
    if edit.backup:
        print(f"The previous file is saved as {edit.backup} (the newest {KEEP_BACKUPS} backups are kept).")
    print("Start Claude Desktop to load the change: it reads the config only as it starts.")


REINSTALL = "Run install to update it."


def configured_entry(app: DesktopInstall, name: str, uvx: str | None = None) -> tuple[dict[str, Any], str]:
    """The entry Claude Desktop would run for `name` and where it comes from; refuses one it would not run,
    a file it would not load, and a file that lost servers since this tool last wrote it."""
    config_path = app.config
    before, config = read_config(config_path)
    if rejected := rejected_entries(config, config_path, name):
        raise SetupError(f"{rejected}. {WIPES_ALL}.")
    if wiped := lost_servers(config_path, config, name):
        backup, lost = wiped
        raise SetupError(
            f"{config_path} has lost {', '.join(json.dumps(server, ensure_ascii=False) for server in lost)} since "
            f"{backup}, which holds them: Claude Desktop saved over it. Quit Claude Desktop fully ({how_to_quit()}), "
            f"then run: {own_command('restore', *(['--config', str(config_path)] if app.named else []))}"
        )
    servers: dict[str, Any] = config.get("mcpServers", {})
    if name not in servers:
        if app.ignored and name in read_config(app.ignored)[1].get("mcpServers", {}):
            raise SetupError(
                f'the entry "{name}" is in {app.ignored}, which this app ({app.kind}) never reads; '
                f"it reads {config_path}. {REINSTALL}"
            )
        absent = "does not exist" if before is None else f'has no "{name}" entry'
        return launch_entry(uvx), f"the entry install would write: {config_path} {absent}"
    entry: Any = servers[name]
    where = f'the entry "{name}" in {config_path}'
    if problem := stdio_rejection(entry):
        raise SetupError(f"{where}{problem}.")
    entry = cast(dict[str, Any], entry)
    if stale := stale_keys(entry):
        raise SetupError(f"{where} has {', '.join(stale)}: Claude Desktop would not start it as written. {REINSTALL}")
    if not os.path.isabs(entry["command"]):
        raise SetupError(
            f"{where} starts {json.dumps(entry['command'], ensure_ascii=False)}, not an absolute path: Claude Desktop "
            f"does not see your shell's PATH, so it may not find the program. {REINSTALL}"
        )
    return entry, str(config_path)
