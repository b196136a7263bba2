"""installer/shortcuts.py: the Linux menu entry and autostart entry, written and removed."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import configparser
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_installer() -> Any:
    spec = importlib.util.spec_from_file_location(
        "camfx_shortcuts", ROOT / "installer" / "shortcuts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop entries")
def test_install_and_remove_linux_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: Any
) -> None:
    shortcuts = load_installer()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    python = str(tmp_path / "my venv" / "bin" / "python")
    assert shortcuts.main(["install", "--autostart", "--python", python]) == 0
    paths = shortcuts.linux_paths()
    assert paths["icon"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(paths["menu"])
    section = entry["Desktop Entry"]
    assert section["Name"] == "camfx" and section["Type"] == "Application"
    # A path with a space is quoted as the freedesktop spec asks.
    assert section["Exec"] == f'"{python}" -m app.gui'
    assert section["Icon"] == str(paths["icon"])
    auto = configparser.ConfigParser(interpolation=None)
    auto.read(paths["autostart"])
    assert auto["Desktop Entry"]["Exec"].endswith("-m app.gui --minimized")
    assert shortcuts.main(["remove"]) == 0
    assert not any(p.exists() for p in paths.values())


def test_exec_quoting() -> None:
    shortcuts = load_installer()
    assert shortcuts._quote("/usr/bin/camfx") == "/usr/bin/camfx"
    assert shortcuts._quote('/a b/"x"$y') == '"/a b/\\"x\\"\\$y"'
    assert shortcuts._quote("50%") == '"50%%"'


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop entries")
def test_bundle_install_links_camfx_on_path_and_remove_keeps_user_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: Any
) -> None:
    """The bundle's install.sh runs ``camfx shortcuts install --executable BUNDLED``: the menu
    and autostart entries start the bundled program, and ``~/.local/bin/camfx`` links to it."""
    shortcuts = load_installer()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    bundled = tmp_path / "apps" / "camfx" / "camfx"
    bundled.parent.mkdir(parents=True)
    bundled.write_text("#!/bin/sh\n")
    bundled.chmod(0o755)
    assert shortcuts.main(["install", "--autostart", "--executable", str(bundled)]) == 0
    paths = shortcuts.linux_paths()
    link = tmp_path / "home" / ".local" / "bin" / "camfx"
    assert paths["bin"] == link and link.is_symlink() and link.resolve() == bundled
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(paths["menu"])
    assert entry["Desktop Entry"]["Exec"] == str(bundled)
    auto = configparser.ConfigParser(interpolation=None)
    auto.read(paths["autostart"])
    assert auto["Desktop Entry"]["Exec"] == f"{bundled} gui --minimized"
    # Installing twice is the same as once.
    assert shortcuts.main(["install", "--executable", str(bundled)]) == 0
    assert link.resolve() == bundled
    assert shortcuts.main(["remove"]) == 0
    assert not link.exists() and not link.is_symlink() and bundled.exists()
    # A camfx of the user's own in ~/.local/bin is neither replaced nor removed.
    link.write_text("#!/bin/sh\necho mine\n")
    assert shortcuts.main(["install", "--executable", str(bundled)]) == 0
    assert link.read_text().endswith("echo mine\n")
    assert shortcuts.main(["remove"]) == 0
    assert link.read_text().endswith("echo mine\n")
