"""``PromptStrategy``: what a strategy is, as plugins implement it.

A strategy says how to prompt, on any task family: which exemplars precede an item and how the prompt
reads (through the family's ``question`` / ``exemplar`` / ``direct_question``, never its doc fields), how
the model should answer (lm-eval output type, generation settings, repeats) and how answers are read back
(an lm-eval ``filter_list``; the family's answer reading and reduction are the ``summeval_answer`` and
``summeval_reduce`` filters). ``summeval.lm_eval.task.StrategyTask`` joins one family and one strategy into an
lm-eval task; nothing else about lm-eval is needed to write one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prompt_strategies.stopping import StoppingRule
from summeval_tasks.contract import Doc, TaskFamily
from summeval_tasks.util.bounds import MAX_GEN_TOKS, SEED, Range
from summeval_tasks.util.errors import SummevalError


class StrategyError(SummevalError):
    """A strategy was asked for something it cannot do: unknown name or option, bad exemplar file."""


OptionRange = Range | tuple[Callable[[Any], bool], str]
"""An option's range: a ``summeval_tasks.util.bounds.Range``, or ``(accepts(value), "what would be
right")`` for a rule a range cannot say."""
COMMON_RANGES = {"max_gen_toks": MAX_GEN_TOKS, "seed": SEED}
"""Options bounded the same in every strategy: a field of these names without a range of its own (a
plugin's) still gets one."""


def _range(option_field: dataclasses.Field) -> OptionRange | None:
    return option_field.metadata.get("range") or COMMON_RANGES.get(option_field.name)


def option(default: Any, help: str, range: OptionRange | None = None) -> Any:
    """A field of a strategy's options dataclass: its default, what it does (``help``, shown by
    ``summeval strategies``) and its range. A value of the default's type is accepted (a default of None:
    a positive integer or null); a value outside its range is an error, never reinterpreted."""
    return field(default=default, metadata={"help": help, "range": range})


@dataclass(frozen=True)
class StrategyOptions:
    """A strategy's options, one frozen dataclass per strategy (PEFT's ``LoraConfig`` style): each field
    made with :func:`option`. This one has none (multiple choice)."""


@dataclass(frozen=True)
class GenerationOptions(StrategyOptions):
    """The options of a strategy that generates its answer."""

    max_gen_toks: int | None = option(
        None, "tokens generated per answer; null: the family's budget for this kind of answer", MAX_GEN_TOKS
    )


@dataclass(frozen=True)
class TaskContext:
    """What a strategy may use besides the doc: the family, its exemplar pool, where the task was defined."""

    family: TaskFamily
    pool_loader: Callable[[], Sequence[Doc]] = tuple
    """Returns the exemplar pool (the family's ``pool_split`` docs); called on first use."""
    config_dir: Path | None = None
    """The folder of the task YAML; relative file options are resolved against it."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """lm-eval metadata: the task YAML's ``metadata`` merged with ``--metadata``."""
    _pool: list = field(default_factory=list, repr=False)

    @property
    def pool(self) -> Sequence[Doc]:
        if not self._pool:
            self._pool.append(list(self.pool_loader()))
        return self._pool[0]

    def resolve(self, path: str | Path) -> Path:
        """``path`` if absolute; else the first that exists of: beside the task YAML, the family's exemplar
        folder, the working folder. None exists: an error naming all."""
        candidate = Path(path).expanduser()
        if candidate.is_absolute():
            return candidate
        folders = (self.config_dir, self.family.exemplar_dir())
        places = [d / candidate for d in folders if d is not None]
        places.append(Path.cwd() / candidate)
        for place in places:
            if place.is_file():
                return place
        raise StrategyError(f"file {str(path)!r} not found; looked in {', '.join(str(p) for p in places)}")


class PromptStrategy:
    """Base class of every strategy, built-in or contributed by a plugin.

    Subclasses set ``name``, ``description`` and ``Options`` (a frozen dataclass of :func:`option`
    fields) and implement ``prompt``; most also override ``exemplars``, ``lm_eval_settings`` and
    ``applies_to``.

    Options are set per run with ``--metadata '{"<name>": {"<option>": value}}'``; each value must
    have the type of its default (a default of None accepts a positive integer or null) and lie in
    its field's range. Every method that takes ``options`` gets an instance of ``Options``.
    """

    name: str = ""
    description: str = ""
    Options: type[StrategyOptions] = StrategyOptions
    reasoning: bool = False
    """Whether the model writes a chain of thought (the family's reasoning stops and token budget)."""
    selects_exemplars: bool = False
    """Whether its exemplars come from a selection run on the evaluated model first (active-prompt's
    stage one): ``summeval compare`` and ``summeval study`` select them before the strategy's cells
    unless its ``exemplars_file`` option names a file; a family's group leaves such strategies out."""

    def applies_to(self, family: TaskFamily) -> bool:
        """Whether ``<family>_<name>`` makes sense (a task is registered for it). Default: always, but a
        reasoning strategy only on families that read answers from reasoning."""
        return not self.reasoning or family.supports_reasoning

    def reasons(self, family: TaskFamily) -> bool:
        """Whether the model writes a chain of thought on ``family`` (its reasoning stops and token
        budget apply). Default: ``reasoning``."""
        return self.reasoning

    def given_options(self, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The options ``metadata[self.name]`` sets (a mapping or a JSON string), checked: unknown options,
        wrong types and values out of range are errors naming the option and what would be right."""
        given = (metadata or {}).get(self.name) or {}
        if isinstance(given, str):
            try:
                given = json.loads(given)
            except json.JSONDecodeError as err:
                raise StrategyError(f"{self.name}: options must be a JSON object, got {given!r}") from err
        if not isinstance(given, Mapping):
            raise StrategyError(f"{self.name}: options must be a JSON object, got {given!r}")
        fields = {f.name: f for f in dataclasses.fields(self.Options)}
        checked: dict[str, Any] = {}
        for key, value in given.items():
            if key not in fields:
                known = ", ".join(sorted(fields)) or "none"
                raise StrategyError(f"{self.name}: unknown option {key!r} (options: {known})")
            checked[key] = self._checked(fields[key], value)
        return checked

    def _checked(self, option_field: dataclasses.Field, value: Any) -> Any:
        key, default = option_field.name, option_field.default
        if default is None:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise StrategyError(f"{self.name}: option {key!r} must be a positive integer, got {value!r}")
        elif not _same_kind(value, default):
            raise StrategyError(
                f"{self.name}: option {key!r} must be {type(default).__name__}, got {value!r}"
            )
        bound = _range(option_field)
        if bound is not None and value is not None:
            accepts, right = (bound.accepts, bound.right) if isinstance(bound, Range) else bound
            if not accepts(value):
                raise StrategyError(f"{self.name}: option {key!r} is {value!r}; it must be {right}")
        return float(value) if isinstance(default, float) else value

    def options(self, metadata: Mapping[str, Any] | None = None) -> StrategyOptions:
        """The ``Options`` that ``metadata[self.name]`` sets, the rest at their defaults (see
        ``given_options``)."""
        return self.Options(**self.given_options(metadata))

    def option_help(self) -> dict[str, tuple[Any, str, str]]:
        """Each option's default, what it does and its range in words: ``{name: (default, help, right)}``
        (right is '' for an option with no range)."""
        described = {}
        for option_field in dataclasses.fields(self.Options):
            bound = _range(option_field)
            right = "" if bound is None else bound.right if isinstance(bound, Range) else bound[1]
            described[option_field.name] = (
                option_field.default,
                option_field.metadata.get("help", ""),
                right,
            )
        return described

    def exemplars(self, doc: Doc, context: TaskContext, options: StrategyOptions) -> list[Doc]:
        """The exemplars shown before ``doc``. Must never include ``doc`` itself. Default: none."""
        return []

    def prompt(self, doc: Doc, family: TaskFamily, exemplars: Sequence[Doc], options: StrategyOptions) -> str:
        """The full prompt text for ``doc`` after ``exemplars``."""
        raise NotImplementedError(f"strategy {self.name!r} does not build prompts")

    def chat_turns(
        self, doc: Doc, family: TaskFamily, exemplars: Sequence[Doc], options: StrategyOptions
    ) -> list[tuple[str, str]] | None:
        """Under a chat template (with lm-eval's ``fewshot_as_multiturn``, its default there), the prompt
        as chat turns: ``(role, content)`` pairs, each worked exemplar a user turn and an assistant turn,
        ending in the user turn of ``doc``. None (the default): ``prompt`` is sent as one user turn."""
        return None

    def max_gen_toks(self, family: TaskFamily, options: StrategyOptions) -> int:
        """The option ``max_gen_toks`` when set, else the family's budget for this kind of answer."""
        given = getattr(options, "max_gen_toks", None)
        if given is not None:
            return int(given)
        return family.reasoning_tokens if self.reasons(family) else family.answer_tokens

    def stop_sequences(self, family: TaskFamily) -> list[str]:
        return list(family.reasoning_stop if self.reasons(family) else family.answer_stop)

    def lm_eval_settings(self, family: TaskFamily, options: StrategyOptions) -> dict[str, Any]:
        """lm-eval task settings: ``output_type``, ``generation_kwargs``, ``repeats``, ``filter_list``, ...

        Keys the task YAML sets itself win over these. Default: greedy generation, answers read by
        the family.
        """
        return {
            "output_type": "generate_until",
            "generation_kwargs": {
                "until": self.stop_sequences(family),
                "do_sample": False,
                "max_gen_toks": self.max_gen_toks(family, options),
            },
            "filter_list": [answer_pipeline(family.answer_filter, family)],
        }

    def stopping(self, family: TaskFamily, options: StrategyOptions) -> StoppingRule | None:
        """When an item's sampled repeats stop (``prompt_strategies.stopping``): None (the default) draws
        every repeat at once, as lm-eval does; a rule whose ``adaptive`` is true draws them in rounds
        (``summeval.lm_eval.early_stop``)."""
        return None

    def primary_filter(self, family: TaskFamily, options: StrategyOptions) -> str:
        """The filter whose scores are this strategy's headline result (used by ``summeval compare``)."""
        return self.lm_eval_settings(family, options).get("filter_list", [{"name": "none"}])[0]["name"]


# The family's answer reading and its reduction, as named in lm-eval's filter registry (see filters.py).
ANSWER_FILTER = "summeval_answer"
REDUCE_FILTER = "summeval_reduce"


def answer_pipeline(name: str, family: TaskFamily, *, reduce: bool = False) -> dict[str, Any]:
    """A ``filter_list`` entry: read each answer, optionally reduce the K answers, keep one per doc."""
    steps: list[dict[str, Any]] = [{"function": ANSWER_FILTER, "family": family.name}]
    if reduce:
        steps.append({"function": REDUCE_FILTER, "family": family.name})
    steps.append({"function": "take_first"})
    return {"name": name, "filter": steps}


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))
