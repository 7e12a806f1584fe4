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
