"""Folders written atomically (``summeval_tasks.util.files``): readable like ordinary folders, and a replaced
folder is swapped only once the new one is complete."""

from __future__ import annotations

import os

import pytest


def test_written_folders_are_readable_like_ordinary_folders(tmp_path):
    from summeval_tasks.util.files import folder_written_atomically

    previous = os.umask(0o022)
    try:
        with folder_written_atomically(tmp_path / "adapter") as staging:
            (staging / "weights").write_text("x", encoding="utf-8")
    finally:
        os.umask(previous)
    assert (tmp_path / "adapter").stat().st_mode & 0o777 == 0o755


def test_a_replaced_folder_is_swapped_only_once_the_new_one_is_complete(tmp_path):
    from summeval_tasks.util.files import folder_written_atomically

    target = tmp_path / "cell"
    with folder_written_atomically(target) as staging:
        (staging / "old").write_text("1", encoding="utf-8")
    with pytest.raises(RuntimeError), folder_written_atomically(target, replace=True) as staging:
        (staging / "new").write_text("2", encoding="utf-8")
        raise RuntimeError("killed half-way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell"] and (target / "old").is_file()
    with folder_written_atomically(target, replace=True) as staging:
        (staging / "new").write_text("2", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell"]
    assert sorted(p.name for p in target.iterdir()) == ["new"]


# ----------------------------------------------------------------------------- links in folders we write


def _planted(tmp_path):
    """A folder summeval writes (``out``) and a folder of someone else's (``elsewhere``)."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    return out, elsewhere


def test_a_file_is_not_written_through_a_linked_folder_inside_the_folder_we_write(tmp_path):
    from summeval_tasks.util.files import LinkInOwnedFolder, write_text_atomically

    out, elsewhere = _planted(tmp_path)
    (out / "samples").symlink_to(elsewhere)
    with pytest.raises(LinkInOwnedFolder, match=r"out/samples is a symbolic link \(to .*elsewhere\)"):
        write_text_atomically(out / "samples" / "a.csv", "x", within=out)
    assert list(elsewhere.iterdir()) == []
    write_text_atomically(out / "report.md", "ok", within=out)  # beside the link: fine


def test_a_folder_is_not_written_through_or_into_a_link(tmp_path):
    from summeval_tasks.util.files import LinkInOwnedFolder, folder_written_atomically

    out, elsewhere = _planted(tmp_path)
    (out / "cells").mkdir()
    (out / "cells" / "model").symlink_to(elsewhere)
    with pytest.raises(LinkInOwnedFolder, match="cells/model is a symbolic link"):
        with folder_written_atomically(out / "cells" / "model" / "task", within=out, replace=True):
            pass
    (out / "tasks").symlink_to(elsewhere)  # the target itself a link: it would be read through
    with pytest.raises(LinkInOwnedFolder, match="out/tasks is a symbolic link"):
        with folder_written_atomically(out / "tasks", within=out, replace=True):
            pass
    assert list(elsewhere.iterdir()) == []


def test_the_folder_we_were_given_may_itself_be_a_link(tmp_path):
    from summeval_tasks.util.files import write_text_atomically

    _, elsewhere = _planted(tmp_path)
    chosen = tmp_path / "chosen"
    chosen.symlink_to(elsewhere)  # the user's own choice of --out
    write_text_atomically(chosen / "charts" / "a.png", "x", within=chosen)
    assert (elsewhere / "charts" / "a.png").read_text() == "x"


def test_a_file_that_is_a_link_is_replaced_not_followed(tmp_path):
    from summeval_tasks.util.files import write_text_atomically

    out, elsewhere = _planted(tmp_path)
    precious = elsewhere / "precious.txt"
    precious.write_text("the user's")
    (out / "report.md").symlink_to(precious)
    write_text_atomically(out / "report.md", "ours", within=out)
    assert not (out / "report.md").is_symlink() and precious.read_text() == "the user's"


def test_a_lock_file_that_is_a_link_is_refused_and_the_file_behind_it_kept(tmp_path):
    from summeval_tasks.util.files import LinkInOwnedFolder, exclusive_lock

    out, elsewhere = _planted(tmp_path)
    precious = elsewhere / "precious.txt"
    precious.write_text("the user's")
    (out / ".summeval-study.lock").symlink_to(precious)
    with pytest.raises(LinkInOwnedFolder, match=r"\.summeval-study\.lock is a symbolic link"):
        with exclusive_lock(out / ".summeval-study.lock", "summeval study", "wait"):
            pass
    assert precious.read_text() == "the user's"


def test_an_output_folder_holding_a_link_is_refused_before_anything_runs(tmp_path):
    from summeval_tasks.util.files import LinkInOwnedFolder, check_output_folder, mark_owned_folder

    out, elsewhere = _planted(tmp_path)
    mark_owned_folder(out, ".summeval-study", {"study": "s"})
    (out / "cells" / "m").mkdir(parents=True)
    (out / "cells" / "m" / "t").symlink_to(elsewhere)
    with pytest.raises(LinkInOwnedFolder, match=r"summeval study: --out .*cells/m/t is a symbolic link"):
        check_output_folder(out, ".summeval-study", {"study": "s"}, "summeval study: --out")


# ----------------------------------------------------------------------------- full disks


def test_a_library_error_that_reports_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    from safetensors import SafetensorError

    from summeval_tasks.util.files import DiskFull, folder_written_atomically

    full = SafetensorError(
        'Error while serializing: IoError(Os { code: 28, message: "No space left on device" })'
    )
    with pytest.raises(
        DiskFull, match=r"writing .*model failed: No space left on device; nothing half-written"
    ):
        with folder_written_atomically(tmp_path / "model") as staging:
            (staging / "model.safetensors").write_bytes(b"half")
            raise full
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SafetensorError, match="header too large"):  # any other error stays itself
        with folder_written_atomically(tmp_path / "model"):
            raise SafetensorError("Error while deserializing header: HeaderTooLarge header too large")
