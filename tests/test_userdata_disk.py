"""User preset files that change under a running camfx (qa7 findings 6, 7, 9): a hand edit is
re-read and never written over, two windows cannot make two files of one name, and a user
preset cannot take a built-in's name (pipelines/userdata.py; no Qt)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pipelines import userdata
from pipelines.errors import SettingsError
from pipelines.presets import Preset, StageSpec
from pipelines.userdata import PresetChangedOnDisk, PresetStore

BLUR = StageSpec("background_blur", {"strength": 0.5})


def _hand_edit(path: Path, strength: float) -> None:
    data = json.loads(path.read_text())
    data["stages"][0]["settings"]["strength"] = strength
    path.write_text(json.dumps(data, indent=1))
    # A hand edit within the same clock tick and of the same size as camfx's own write would
    # look unchanged; editors are slower than that, the test says so explicitly.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def _strength(preset: Preset) -> Any:
    return dict(preset.stages[0].settings)["strength"]


def test_a_preset_edited_on_disk_is_re_read_and_a_save_never_writes_over_it(
    tmp_path: Path,
) -> None:
    store = PresetStore(tmp_path / "presets")
    store.save(Preset("Mine", (BLUR,)))
    path = store.path_of("Mine")
    assert not store.changed_on_disk("Mine") and not store.reload_if_changed("Mine")
    _hand_edit(path, 0.9)
    assert store.changed_on_disk("Mine")
    edited_in_window = Preset("Mine", (StageSpec("background_blur", {"strength": 0.2}),))
    with pytest.raises(PresetChangedOnDisk) as caught:
        store.save(edited_in_window, overwrite=True)
    assert str(path) in str(caught.value) and "changed on disk" in str(caught.value)
    assert json.loads(path.read_text())["stages"][0]["settings"]["strength"] == 0.9
    assert store.reload_if_changed("Mine")
    assert _strength(store.get("Mine")) == 0.9 and not store.changed_on_disk("Mine")
    # Re-read, it saves again (over what it read), and its own write is no change.
    store.save(edited_in_window, overwrite=True)
    assert not store.changed_on_disk("Mine")
    assert json.loads(path.read_text())["stages"][0]["settings"]["strength"] == 0.2


def test_a_rename_never_writes_over_a_hand_edit(tmp_path: Path) -> None:
    store = PresetStore(tmp_path / "presets")
    store.save(Preset("Mine", (BLUR,)))
    path = store.path_of("Mine")
    _hand_edit(path, 0.9)
    for new_name in ("MINE", "Yours"):
        with pytest.raises(PresetChangedOnDisk):
            store.rename("Mine", new_name)
    assert sorted(p.name for p in path.parent.iterdir()) == ["mine.json"]
    assert json.loads(path.read_text())["stages"][0]["settings"]["strength"] == 0.9
    store.reload_if_changed("Mine")
    store.rename("Mine", "Yours")
    assert _strength(PresetStore(path.parent).get("Yours")) == 0.9


def test_a_preset_file_removed_on_disk_is_gone_after_a_re_read(tmp_path: Path) -> None:
    store = PresetStore(tmp_path / "presets")
    store.save(Preset("Mine", (BLUR,)))
    store.path_of("Mine").unlink()
    assert store.reload_if_changed("Mine") and "Mine" not in store


def test_two_windows_saving_one_name_make_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    first, second = PresetStore(folder), PresetStore(folder)
    first.load(), second.load()
    first.save(Preset("Shared", (BLUR,)))
    with pytest.raises(SettingsError, match=r"(?i)'shared' already exists .*another camfx window"):
        second.save(Preset("shared", ()))
    assert sorted(p.name for p in folder.iterdir()) == ["shared.json"]
    assert PresetStore(folder).load() == []


def test_a_save_at_the_same_instant_as_another_window_takes_its_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other window writes "Shared" between this one's check and its create."""
    folder = tmp_path / "presets"
    mine, other = PresetStore(folder), PresetStore(folder)
    mine.load(), other.load()
    create = userdata._create_exclusive

    def other_saves_first(*args: Any) -> Path:
        monkeypatch.setattr(userdata, "_create_exclusive", create)
        other.save(Preset("Shared", (BLUR,)))
        return create(*args)

    monkeypatch.setattr(userdata, "_create_exclusive", other_saves_first)
    with pytest.raises(SettingsError, match="already exists"):
        mine.save(Preset("Shared", ()))
    assert sorted(p.name for p in folder.iterdir()) == ["shared.json"]
    assert _strength(PresetStore(folder).get("Shared")) == 0.5


def test_a_new_file_never_replaces_one_another_window_just_wrote(tmp_path: Path) -> None:
    """Same file name, other preset names ("a/b" and "a-b" are both a-b.json)."""
    folder = tmp_path / "presets"
    mine, other = PresetStore(folder), PresetStore(folder)
    mine.load(), other.load()
    other.save(Preset("a/b", (BLUR,)))
    mine.save(Preset("a-b", ()))
    names = {json.loads(p.read_text())["name"]: p.name for p in folder.iterdir()}
    assert names == {"a/b": "a-b.json", "a-b": "a-b-2.json"}


@pytest.mark.parametrize("name", ["studio", "Studio", " STUDIO ", "Background blur", "off"])
def test_a_user_preset_cannot_take_a_built_ins_name(tmp_path: Path, name: str) -> None:
    store = PresetStore(tmp_path / "presets")
    with pytest.raises(SettingsError, match=r"is the name of the built-in preset .*another name"):
        store.save(Preset(name, (BLUR,)))
    store.save(Preset("Mine", (BLUR,)))
    with pytest.raises(SettingsError, match="built-in preset"):
        store.rename("Mine", name)
    assert store.names() == ["Mine"]
    # A copy or an import of a built-in gets a name of its own instead.
    assert store.unique_name("Studio") == "Studio (2)"


def test_a_user_preset_named_like_a_built_in_on_disk_still_loads(tmp_path: Path) -> None:
    """Refused for new names only: a file an older camfx saved is the user's, and kept."""
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "studio.json").write_text(json.dumps(Preset("studio", (BLUR,)).to_dict()))
    store = PresetStore(folder)
    assert store.load() == [] and store.names() == ["studio"]
    store.save(Preset("studio", ()), overwrite=True)
    assert store.get("studio").stages == ()


def test_the_list_follows_the_folder_a_fixed_file_put_back_is_listed_again(
    tmp_path: Path,
) -> None:
    """A half-saved preset file is moved aside at the re-read; once the editor saves it whole
    again, the next look at the folder lists it (it stayed gone until a restart, qa8 H1). The
    store's own writes are no change."""
    store = PresetStore(tmp_path / "presets")
    store.save(Preset("Mine", (BLUR,)))
    store.save(Preset("Other", (BLUR,)))
    assert not store.folder_changed() and not store.refresh()
    path = store.path_of("Mine")
    whole = path.read_text()
    path.write_text(whole[:-30])  # an editor's half save
    assert store.refresh() and "Mine" not in store and "Other" in store
    (moved,) = [p for p in store.problems if p.moved_to is not None]
    assert moved.path == path and moved.moved_to is not None and moved.moved_to.exists()
    assert not store.refresh()  # the broken copy aside is no preset file
    path.write_text(whole.replace("0.5", "0.8"))  # the editor saves the fixed file
    assert store.refresh() and _strength(store.get("Mine")) == 0.8 and not store.problems
    store.delete("Other")
    assert not store.refresh()
