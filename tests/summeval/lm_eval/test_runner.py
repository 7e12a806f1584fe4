"""``summeval.lm_eval.runner.released``: a vLLM engine is stopped when the work it was loaded for ends,
also when that work raises (the engine would otherwise be shut down during interpreter exit)."""

from __future__ import annotations

import pytest

from summeval.lm_eval.runner import released


class _EngineCore:
    def __init__(self) -> None:
        self.stopped = 0

    def shutdown(self) -> None:
        self.stopped += 1


def _vllm_like_model(engine_core=None):
    """An lm-eval ``vllm`` model as ``release_lm`` sees it: ``.model`` a ``vllm.LLM`` with its engine."""
    llm_class = type("LLM", (), {"__module__": "vllm.entrypoints.llm"})
    llm = llm_class()
    llm.llm_engine = type("Engine", (), {})()
    llm.llm_engine.engine_core = engine_core
    lm = type("VLLM", (), {})()
    lm.model = llm
    return lm


def test_the_engine_is_stopped_when_the_block_ends():
    core = _EngineCore()
    with released(_vllm_like_model(core)) as lm:
        assert core.stopped == 0 and lm.model.llm_engine.engine_core is core
    assert core.stopped == 1


def test_the_engine_is_stopped_when_the_block_raises_and_the_error_is_kept():
    core = _EngineCore()
    with pytest.raises(KeyError, match="a cell failed"), released(_vllm_like_model(core)):
        raise KeyError("a cell failed")
    assert core.stopped == 1


def test_a_release_that_fails_does_not_hide_the_error_on_its_way_out():
    with pytest.raises(KeyError, match="a cell failed"), released(_vllm_like_model(engine_core=object())):
        raise KeyError("a cell failed")
    with (
        pytest.raises(RuntimeError, match="cannot stop the vLLM engine"),
        released(_vllm_like_model(object())),
    ):
        pass  # with nothing on its way out, the failed release is the error


def test_any_other_model_is_left_alone():
    with released(object()) as lm:
        assert lm is not None
