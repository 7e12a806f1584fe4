"""``sports_data: bigbench``: the real task.json read out of the PyPI sdist, checked, cached (no network here:
archives are built in the test; the download itself runs in the reduced embedded study test)."""

from __future__ import annotations

import io
import tarfile

import pytest

from summeval_tasks import bigbench_sdist
from summeval_tasks.bigbench_sdist import MEMBER, BigbenchSourceError, read_member


def _sdist(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:  # a symbolic link instead of a file
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
                continue
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_member_with_another_hash_is_refused(tmp_path):
    archive = _sdist(tmp_path / "bigbench-1.0.0.tar.gz", {MEMBER: b'{"examples": []}'})
    with pytest.raises(BigbenchSourceError, match="has sha256 .*not the BIG-bench file's 925617"):
        read_member(archive)


def test_an_archive_without_the_member_is_refused(tmp_path):
    archive = _sdist(tmp_path / "bigbench-1.0.0.tar.gz", {"bigbench-1.0.0/setup.py": b""})
    with pytest.raises(BigbenchSourceError, match=f"has no member {MEMBER}"):
        read_member(archive)


def test_a_link_in_place_of_the_member_is_refused(tmp_path):
    archive = _sdist(tmp_path / "bigbench-1.0.0.tar.gz", {MEMBER: None})
    with pytest.raises(BigbenchSourceError, match="is not a regular file"):
        read_member(archive)


def test_a_truncated_archive_is_one_line(tmp_path):
    archive = _sdist(tmp_path / "bigbench-1.0.0.tar.gz", {MEMBER: b"x" * 10_000})
    archive.write_bytes(archive.read_bytes()[:40])
    with pytest.raises(BigbenchSourceError, match="cannot read .* as a .tar.gz"):
        read_member(archive)


def test_a_failed_download_leaves_nothing_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMEVAL_CACHE", str(tmp_path / "cache"))

    def no_pypi(folder):
        raise BigbenchSourceError("sports: `pip download bigbench==1.0.0` failed (no network)")

    monkeypatch.setattr(bigbench_sdist, "_download_sdist", no_pypi)
    with pytest.raises(BigbenchSourceError, match="pip download"):
        bigbench_sdist.bigbench_task_json()
    target = bigbench_sdist.cached_path()
    assert not target.exists() and list(target.parent.iterdir()) == []
