"""Plugins that fail to load (a syntax error, an exception at import, a hook of the wrong type or that raises,
a module that is not there) are named in one line each, and the built-ins stay."""

from __future__ import annotations

import os
import subprocess
import sys

from support import offline_env

PLUGINS = {
    "plugin_syntax_error": "def broken(:\n",
    "plugin_raises_at_import": "raise RuntimeError('cannot start: no licence key')\n",
    "plugin_wrong_type": (
        "from prompt_strategies import hookimpl\n\n@hookimpl\ndef summeval_strategies():\n"
        "    return 'yes_no'\n"
    ),
    "plugin_hook_raises": (
        "from prompt_strategies import hookimpl\n\n@hookimpl\ndef summeval_task_families():\n"
        "    raise KeyError('dataset')\n"
    ),
}


def test_broken_plugins_are_named_in_one_line_and_the_builtins_stay(tmp_path):
    for name, code in PLUGINS.items():
        (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
    env = offline_env(
        SUMMEVAL_PLUGINS=",".join([*PLUGINS, "no_such_plugin_module"]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        SUMMEVAL_CACHE=str(tmp_path / "cache"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "summeval.cli", "strategies"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    for name in [*PLUGINS, "no_such_plugin_module"]:
        assert sum(name in line for line in lines) == 1, proc.stderr
    assert "SyntaxError" in proc.stderr and "no licence key" in proc.stderr and "'yes_no'" in proc.stderr
    for builtin in ("tweetsumm", "sports_understanding", "self_consistency", "active_prompt"):
        assert builtin in proc.stdout
