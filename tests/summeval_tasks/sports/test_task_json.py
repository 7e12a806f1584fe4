"""A BIG-bench task.json read as sports statements (``summeval_tasks.sports.source.parse_task_json``):
statements lose their invisible characters."""

from __future__ import annotations

from support_inputs import SPORTS_GOOD, example, task_json


def test_sports_statements_lose_their_invisible_characters(tmp_path):
    from summeval_tasks.sports.source import parse_task_json

    path = tmp_path / "task.json"
    path.write_text(task_json([*SPORTS_GOOD[:5], example("LeBron\u200b threw a touchdown", 0, 1)]))
    statements = [s.statement for split in parse_task_json(path).values() for s in split]
    assert "LeBron threw a touchdown" in statements and not any("\u200b" in s for s in statements)
