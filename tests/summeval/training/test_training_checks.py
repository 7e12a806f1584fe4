"""The training's up-front checks: a resumed run with other settings is refused naming the difference, the
library's ``finetune`` bounds ``max_steps`` as the command line does."""

from __future__ import annotations

import json

import pytest
from support import REPO
from support_inputs import BIG


def test_resume_with_other_settings_is_refused_naming_the_difference(tmp_path):
    from summeval.training.checks import RUN_FILE, FinetuneError, check_same_run

    run = {
        "recipe": {"lora": {"r": 16}, "training": {"learning_rate": 0.0001}},
        "data_sha256": "aa",
        "max_steps": 5,
    }
    (tmp_path / RUN_FILE).write_text(json.dumps(run), encoding="utf-8")
    check_same_run(tmp_path, run)  # the same run continues
    changed = {
        **run,
        "recipe": {"lora": {"r": 32}, "training": {"learning_rate": 0.0001}},
        "data_sha256": "bb",
    }
    with pytest.raises(FinetuneError) as raised:
        check_same_run(tmp_path, changed)
    message = str(raised.value)
    assert "lora.r was 16, now 32" in message and "data_sha256 was 'aa', now 'bb'" in message
    assert "learning_rate" not in message


@pytest.mark.parametrize("steps", [0, -3, BIG * 10, True, 2.5])
def test_the_library_finetune_bounds_max_steps_as_the_command_line_does(steps, tmp_path):
    from summeval.training.finetune import FinetuneError, finetune
    from summeval.training.recipe import load_recipe

    recipe = load_recipe(REPO / "adapters" / "tweetsumm-r16.yaml")
    with pytest.raises(FinetuneError, match=rf"^finetune: --max-steps is {steps!r}; it must be"):
        finetune(recipe, tmp_path / "adapter", max_steps=steps)
    assert not list(tmp_path.iterdir())  # nothing written, no lock left
