"""Shared fixtures: small local data, a tiny random llama, the embedded SmolLM2, offline env.

Plain helpers (paths, the offline environment, model builders) are in support.py.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import build_tiny_llama, build_tiny_t5, offline_env


@pytest.fixture
def offline(monkeypatch):
    """This process's environment as the subprocess tests get it (no hub, no telemetry)."""
    environment = offline_env()
    for key in set(os.environ) - set(environment):
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """A tiny random llama (see ``build_tiny_llama``), built once per test session."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    """The embedded SmolLM2-135M-Instruct folder (converted once, then cached)."""
    from summeval.training.embedded_model import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory) -> Path:
    """A tiny random T5 (see ``build_tiny_t5``), built once per test session."""
    return build_tiny_t5(tmp_path_factory.mktemp("tiny-t5"))


@pytest.fixture
def small_disk(tmp_path):
    """A real tmpfs of 1 MiB (root only; skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)]).returncode
    ):
        pytest.skip("mounting a tmpfs needs root")
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)
