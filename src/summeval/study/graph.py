"""A study as a graph of tasks, and how long it takes on P workers.

A study's work is three kinds of task: an adapter trained from its recipe (``train:<model>``), active-prompt
exemplars selected once per model and family (``select:<model>/<family>``), and the cells
(``cell:<model>/<task>``, a replicate ``cell:<model>/<task>@seed<N>``). A cell runs after the adapter it
loads and after the exemplars it reads; every other cell is independent. This is the order ``summeval
study`` runs them in one process, and the graph a scheduler with several workers (issue 27's Ray executor)
must respect.

``makespan`` list-schedules the graph on P identical workers (one task per worker at a time, the ready task
with the longest path to the end first, on the worker free first) and ``critical_path`` gives the longest
chain: no number of workers finishes sooner than it, nor sooner than the total work over P.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

from summeval.study.keys import all_cells, cell_options, selects_exemplars
from summeval.study.plan import StudyConfig


@dataclass(frozen=True)
class Task:
    """One unit of a study's work and the tasks it needs done first."""

    id: str
    kind: str
    """``train``, ``select`` or ``cell``."""
    after: tuple[str, ...] = ()


def study_graph(config: StudyConfig) -> dict[str, Task]:
    """Every task of ``config`` from scratch (each adapter with a recipe trained, each selection made), in
    the order ``summeval study`` would run them."""
    tasks: dict[str, Task] = {}
    for model, spec in config.models.items():
        if spec.recipe is not None:
            tasks[f"train:{model}"] = Task(f"train:{model}", "train")
    for cell in all_cells(config):
        trained = (f"train:{cell.model}",) if f"train:{cell.model}" in tasks else ()
        needs = list(trained)
        if selects_exemplars(cell, cell_options(config, cell)):
            select = f"select:{cell.model}/{cell.family.name}"
            tasks.setdefault(select, Task(select, "select", trained))
            needs.append(select)
        tasks[f"cell:{cell.id}"] = Task(f"cell:{cell.id}", "cell", tuple(needs))
    return tasks


def _checked(tasks: Mapping[str, Task], cost: Mapping[str, float]) -> None:
    missing = sorted(set(tasks) - set(cost))
    if missing:
        raise ValueError(f"no cost for {len(missing)} task(s), e.g. {missing[0]}")
    bad = next((t for t in tasks if not cost[t] >= 0), None)
    if bad is not None:
        raise ValueError(f"the cost of {bad} is {cost[bad]!r}; a cost is 0 or more seconds")


def _followers(tasks: Mapping[str, Task]) -> dict[str, list[str]]:
    followers: dict[str, list[str]] = {t: [] for t in tasks}
    for task in tasks.values():
        for before in task.after:
            followers[before].append(task.id)
    return followers


def _tails(tasks: Mapping[str, Task], cost: Mapping[str, float]) -> dict[str, float]:
    """Each task's longest path to the end of the graph, itself included."""
    followers = _followers(tasks)
    tails: dict[str, float] = {}

    def tail(task_id: str) -> float:
        if task_id not in tails:
            tails[task_id] = cost[task_id] + max((tail(f) for f in followers[task_id]), default=0.0)
        return tails[task_id]

    for task_id in tasks:
        tail(task_id)
    return tails


def critical_path(tasks: Mapping[str, Task], cost: Mapping[str, float]) -> tuple[float, list[str]]:
    """The longest chain of dependent tasks: its length in seconds and its task ids, first to last."""
    _checked(tasks, cost)
    tails, followers = _tails(tasks, cost), _followers(tasks)
    if not tasks:
        return 0.0, []
    chain = [max((t for t in tasks if not tasks[t].after), key=lambda t: tails[t])]
    while followers[chain[-1]]:
        chain.append(max(followers[chain[-1]], key=lambda t: tails[t]))
    return tails[chain[0]], chain


def makespan(tasks: Mapping[str, Task], cost: Mapping[str, float], workers: int) -> float:
    """Seconds to finish every task on ``workers`` identical workers by list scheduling: whenever a worker
    is free, it takes the ready task with the longest path to the end (ties by id)."""
    if workers < 1:
        raise ValueError(f"workers = {workers}; at least 1")
    _checked(tasks, cost)
    tails, followers = _tails(tasks, cost), _followers(tasks)
    waiting = {t: len(task.after) for t, task in tasks.items()}
    ready = [(-tails[t], t) for t, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []  # (finish time, task)
    now, free = 0.0, workers
    while ready or running:
        while ready and free:
            _, task_id = heapq.heappop(ready)
            heapq.heappush(running, (now + cost[task_id], task_id))
            free -= 1
        now, done = heapq.heappop(running)
        free += 1
        for follower in followers[done]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, (-tails[follower], follower))
    return now
