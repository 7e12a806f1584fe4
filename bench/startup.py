"""How much does summeval's task auto-registration add to lm-eval start-up?

Runs, alternately and in fresh interpreters, (a) a bare ``python -c pass`` and (b) building an
lm-eval ``TaskManager()`` (what ``lm_eval`` does before any evaluation), each with the
auto-registration hook on and off (``SUMMEVAL_NO_AUTOREGISTER=1``). Prints the medians and the
ratio on/off. Run: ``python bench/startup.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": "pass",
    "TaskManager()": "from lm_eval.tasks import TaskManager; TaskManager()",
}


def timed(code: str, autoregister: bool) -> float:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop("SUMMEVAL_NO_AUTOREGISTER", None)
    if not autoregister:
        env["SUMMEVAL_NO_AUTOREGISTER"] = "1"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per case and setting (default 5)")
    args = parser.parse_args()
    print(f"{'case':<16} {'off (s)':>9} {'on (s)':>9} {'on/off':>7}")
    for name, code in CASES.items():
        off, on = [], []
        for _ in range(args.repeats):  # interleaved, so drift on a noisy machine hits both alike
            off.append(timed(code, autoregister=False))
            on.append(timed(code, autoregister=True))
        off_s, on_s = statistics.median(off), statistics.median(on)
        print(f"{name:<16} {off_s:>9.3f} {on_s:>9.3f} {on_s / off_s:>7.3f}")


if __name__ == "__main__":
    main()
