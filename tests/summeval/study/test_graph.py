"""A study as a graph of tasks (``summeval.study.graph``): what each cell waits for, and list scheduling on P
workers against hand-computed makespans and the two lower bounds (the critical path, the work over P)."""

from __future__ import annotations

import random

import pytest
from support import REPO

from summeval.study.config import load_study
from summeval.study.graph import Task, critical_path, makespan, study_graph


def test_the_embedded_study_waits_for_its_adapters_and_its_selections():
    graph = study_graph(load_study(REPO / "studies" / "embedded.yaml"))
    kinds = [t.kind for t in graph.values()]
    assert kinds.count("train") == 2 and kinds.count("select") == 2 and kinds.count("cell") == 15
    assert graph["cell:smollm2-r16/tweetsumm_instruct"].after == ("train:smollm2-r16",)
    assert graph["cell:smollm2/tweetsumm_active_prompt"].after == ("select:smollm2/tweetsumm",)
    assert graph["select:smollm2/sports_understanding"].after == ()  # the base model needs no adapter
    assert graph["cell:smollm2/sports_understanding_cot"].after == ()  # every other cell is independent


def test_an_active_prompt_cell_with_its_own_exemplar_file_waits_for_nothing(tmp_path):
    import yaml

    tree = {
        "name": "own",
        "options": {"active_prompt": {"exemplars_file": "mine.json"}},
        "models": {"m": {"pretrained": "embedded"}},
        "evaluations": [{"model": "m", "tasks": ["sports_understanding_active_prompt"]}],
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    assert study_graph(load_study(path)) == {
        "cell:m/sports_understanding_active_prompt": Task("cell:m/sports_understanding_active_prompt", "cell")
    }


DIAMOND = {
    "a": Task("a", "train"),
    "b": Task("b", "cell", ("a",)),
    "c": Task("c", "cell", ("a",)),
    "d": Task("d", "cell", ("b", "c")),
}
COST = {"a": 2.0, "b": 3.0, "c": 1.0, "d": 2.0}


def test_a_diamond_by_hand():
    assert critical_path(DIAMOND, COST) == (7.0, ["a", "b", "d"])
    assert makespan(DIAMOND, COST, 1) == 8.0  # all the work, one after the other
    assert makespan(DIAMOND, COST, 2) == 7.0  # a 0-2; b 2-5 beside c 2-3; d 5-7: the critical path
    assert makespan(DIAMOND, COST, 32) == 7.0
    assert makespan({}, {}, 4) == 0.0 and critical_path({}, {}) == (0.0, [])


def test_list_scheduling_keeps_to_its_bounds_on_random_graphs():
    rng = random.Random(5)
    for _ in range(200):
        n = rng.randint(1, 25)
        tasks = {
            f"t{i}": Task(f"t{i}", "cell", tuple(f"t{j}" for j in range(i) if rng.random() < 0.15))
            for i in range(n)
        }
        cost = {t: rng.choice([0.0, rng.uniform(0.1, 10.0)]) for t in tasks}
        total, (longest, _) = sum(cost.values()), critical_path(tasks, cost)
        assert makespan(tasks, cost, 1) == pytest.approx(total)
        for workers in (2, 4, 8, 32):
            span = makespan(tasks, cost, workers)
            assert max(longest, total / workers) - 1e-9 <= span <= total + 1e-9
            # Graham: list scheduling is within 2 - 1/P of the best schedule, so within that of its bounds
            assert span <= (2 - 1 / workers) * max(longest, total / workers) + 1e-9


def test_costs_are_checked():
    with pytest.raises(ValueError, match="no cost for 1 task"):
        makespan(DIAMOND, {k: v for k, v in COST.items() if k != "d"}, 2)
    with pytest.raises(ValueError, match="the cost of c is -1"):
        critical_path(DIAMOND, {**COST, "c": -1})
    with pytest.raises(ValueError, match="workers = 0"):
        makespan(DIAMOND, COST, 0)
