"""The task-family contract: what a task says about itself so that any prompt strategy can run on it.

A family (TweetSumm, sports_understanding, or a third party's) is a ``TaskFamily`` subclass returned by
the ``summeval_task_families`` hook. It owns everything about its data and answers: where docs come from,
how a question and a worked exemplar read, how generated text is read back into an answer, how an answer
is scored, how K sampled answers become one and how uncertain K answers are. A strategy (how to prompt)
uses only the methods below and never a family's doc fields; a family never knows which strategy
prompted it (the Inspect AI split of solvers and scorers).

It lives in the bottom layer (``summeval_tasks``), beside the families that implement it, and imports
nothing of summeval's but the error base. ``hookimpl`` is the marker a plugin's hook functions carry (the
hooks themselves are declared in ``prompt_strategies.hookspecs``); ``prompt_strategies`` re-exports
``TaskFamily``, ``FamilyError`` and ``hookimpl`` for plugins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pluggy

from summeval_tasks.util.errors import SummevalError

PROJECT = "summeval"
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's implementation of a summeval hook (``summeval_task_families``, ...)."""

Doc = Mapping[str, Any]


class FamilyError(SummevalError):
    """A family was asked for something it cannot do; the message names the family and the input."""


class TaskFamily:
    """Base class of every task family, built-in or contributed by a plugin.

    Subclasses set the class attributes and implement ``load``, ``question``, ``answer_text``,
    ``read_answer`` and ``score``; the rest have defaults that suit most families.
    """

    name: str = ""
    """Task names are ``<name>_<strategy>``; an identifier, unique across plugins."""
    description: str = ""
    eval_split: str = "test"
    """The split that is evaluated."""
    pool_split: str = "train"
    """The split exemplars come from (never the evaluated one)."""
    metrics: Mapping[str, bool] = {}
    """Each per-doc metric ``score`` returns, and whether higher is better."""
    primary_metric: str = ""
    """The headline metric of a report."""
    choices: Sequence[str] | None = None
    """Fixed answer choices (labels), for log-likelihood multiple choice; None when answers are free text."""
    answer_trigger: str | None = "So the answer is"
    """With ``choices``: the words after which a generated answer's label is read in its second stage
    (``two_stage``); None turns two-stage answers off."""
    supports_reasoning: bool = False
    """Whether an answer can be read from a chain of thought (and exemplars carry rationales)."""
    answer_stop: Sequence[str] = ("\n\n",)
    """Stop sequences of a direct answer."""
    reasoning_stop: Sequence[str] = ("\n\n\n",)
    """Stop sequences of a chain of thought."""
    answer_tokens: int = 32
    """Default ``max_gen_toks`` of a direct answer."""
    reasoning_tokens: int = 128
    """Default ``max_gen_toks`` of a chain of thought."""
    answer_filter: str = "answer"
    """The name of the one-answer filter in lm-eval's results (``acc,answer``)."""
    reduction: str = "maj"
    """Name of ``reduce`` in filter names (``maj@10``, ``consensus@10``)."""
    uncertainty_metrics: Sequence[str] = ("disagreement",)
    """What ``uncertainty`` can measure; the first is the default."""
    data_key: str = ""
    """The ``--metadata`` key choosing the data source, if the family has several."""
    cot_exemplars_file: str | None = None
    """A file of worked exemplars with rationales (for ``cot_fewshot``), relative to ``exemplar_dir``."""
    exemplar_fields: Sequence[str] = ("id",)
    """Doc fields an exemplar file entry must carry for ``exemplar`` to render it."""
    training_splits: tuple[str, str] = ("train", "validation")
    """The splits fine-tuning trains on and measures its evaluation loss on, in that order."""

    # ------------------------------------------------------------------ data

    def load(self, metadata: Mapping[str, Any]) -> Mapping[str, Sequence[Doc]]:
        """The docs of every split (at least ``eval_split`` and ``pool_split``), from the source that
        ``metadata`` (lm-eval's ``--metadata`` merged with the task's) names. Errors name the source."""
        raise NotImplementedError(f"family {self.name!r} does not load data")

    def exemplar_dir(self) -> Path | None:
        """Where relative exemplar files of this family are looked for (besides the working folder)."""
        return None

    # ------------------------------------------------------------------ prompting

    def question(self, doc: Doc) -> str:
        """The item as a prompt block that the answer follows (ends where the model answers)."""
        raise NotImplementedError(f"family {self.name!r} does not render questions")

    def direct_question(self, doc: Doc) -> str:
        """The item when the model answers at once with no exemplars; default ``question``."""
        return self.question(doc)

    def chat_direct_question(self, doc: Doc) -> str | None:
        """``direct_question`` as a chat model is asked it (one user turn, under a chat template): None
        (the default) sends ``direct_question`` itself."""
        return None

    def answer_text(self, doc: Doc) -> str:
        """The gold answer as an exemplar shows it."""
        raise NotImplementedError(f"family {self.name!r} has no gold answers")

    def exemplar(self, doc: Doc, rationale: str | None = None) -> str:
        """A worked exemplar: the question, then the rationale (when given) or the gold answer."""
        return f"{self.question(doc)} {self.exemplar_answer(doc, rationale)}"

    def exemplar_answer(self, doc: Doc, rationale: str | None = None) -> str:
        """What a worked exemplar answers (its assistant turn in a chat): the rationale (when given) or
        the gold answer."""
        return rationale if rationale else self.answer_text(doc)

    def instruction_prompt(self, doc: Doc) -> str | None:
        """The family's instruction (fine-tuning) format without the answer, or None if it has none."""
        return None

    def training_example(self, doc: Doc) -> tuple[str, str]:
        """The doc as a fine-tuning pair ``(prompt, target)``: the model learns to write ``target`` after
        ``prompt``. Default: ``instruction_prompt`` and ``answer_text``, so a model is trained on the format
        the ``instruct`` strategy evaluates; a family with no instruction format has no training format."""
        prompt = self.instruction_prompt(doc)
        if prompt is None:
            raise FamilyError(
                f"family {self.name!r} has no training format (it defines neither instruction_prompt "
                "nor training_example); fine-tune on a family that has one"
            )
        return prompt, self.answer_text(doc)

    def target_index(self, doc: Doc) -> int:
        """The index of the gold answer in ``choices`` (multiple choice only)."""
        if not self.choices:
            raise FamilyError(f"family {self.name!r} has no fixed choices")
        return list(self.choices).index(self.answer_text(doc))

    def same_item(self, a: Doc, b: Doc) -> bool:
        """Whether two docs are the same item (an exemplar must never be the item itself)."""
        return a.get("id") is not None and a.get("id") == b.get("id")

    def check_exemplar(self, entry: Mapping[str, Any], where: str) -> None:
        """Refuse an exemplar-file entry this family cannot render; ``where`` names the file and entry."""
        missing = [f for f in self.exemplar_fields if _blank(entry.get(f))]
        if missing:
            raise FamilyError(
                f"{where} has no {', '.join(missing)} (needs {', '.join(self.exemplar_fields)})"
            )

    # ------------------------------------------------------------------ answers

    @property
    def two_stage(self) -> bool:
        """Whether generated answers are also read in two stages (``summeval.lm_eval.two_stage``): the
        family has fixed ``choices`` and an ``answer_trigger``."""
        return bool(self.choices) and bool(self.answer_trigger)

    @property
    def answer_words(self) -> Mapping[str, Sequence[str]]:
        """Each choice → the words that state it after ``answer_trigger`` (a two-stage answer weighs each
        label by the summed probability of its words). Default: the choice itself."""
        return {choice: (choice,) for choice in self.choices or ()}

    @property
    def two_stage_metrics(self) -> dict[str, bool]:
        """The metrics of two-stage answers (none when ``two_stage`` is off): ``<primary>_two_stage``,
        the headline metric of the two-stage answer, and ``agree_two_stage``, 1 where the strict reader
        reads a verdict and it is the two-stage answer."""
        if not self.two_stage:
            return {}
        return {
            f"{self.primary_metric}_two_stage": self.metrics[self.primary_metric],
            "agree_two_stage": True,
        }

    @property
    def reported_metrics(self) -> dict[str, bool]:
        """Every per-doc metric a task of this family reports: ``metrics``, then ``two_stage_metrics``."""
        return {**self.metrics, **self.two_stage_metrics}

    def score_two_stage(self, doc: Doc, answer: Any, two_stage: Any) -> dict[str, float]:
        """The ``two_stage_metrics`` of a doc from its strict ``answer`` and its ``two_stage`` answer."""
        labels = [self.choice_answer(i) for i in range(len(self.choices or ()))]
        return {
            f"{self.primary_metric}_two_stage": float(self.score(doc, two_stage)[self.primary_metric]),
            "agree_two_stage": float(answer in labels and answer == two_stage),
        }

    def read_answer(self, text: str) -> Any:
        """Generated text → the answer that is scored. Must be idempotent (reading an answer again
        gives the same answer)."""
        raise NotImplementedError(f"family {self.name!r} does not read answers")

    def score(self, doc: Doc, answer: Any) -> dict[str, float]:
        """Per-doc metrics (the keys of ``metrics``) of one read answer."""
        raise NotImplementedError(f"family {self.name!r} does not score answers")

    def reduce(self, answers: Sequence[Any]) -> Any:
        """K read answers of one doc → one (a vote, a consensus). Default: the first."""
        return answers[0]

    def uncertainty(self, answers: Sequence[Any], metric: str) -> float:
        """How uncertain K read answers of one doc are under ``metric`` (one of ``uncertainty_metrics``)."""
        if metric != "disagreement":
            raise FamilyError(
                f"family {self.name!r}: unknown uncertainty metric {metric!r}; "
                f"choose one of {', '.join(self.uncertainty_metrics)}"
            )
        if not answers:
            raise FamilyError(f"{self.name}: the uncertainty of no answers is undefined")
        return len({repr(a) for a in answers}) / len(answers)

    def choice_answer(self, index: int) -> Any:
        """The answer meant by choosing ``choices[index]`` (multiple choice)."""
        if not self.choices:
            raise FamilyError(f"family {self.name!r} has no fixed choices")
        return self.read_answer(self.choices[index])

    def source(self, metadata: Mapping[str, Any]) -> str:
        """The data source ``metadata`` chooses, for provenance (default: the value of ``data_key``)."""
        return str(metadata.get(self.data_key) or "default")

    def describe_source(self, metadata: Mapping[str, Any]) -> str:
        """The source ``metadata`` chooses, in words for people (``summeval data``, a study's report): what
        the data are and where they come from. Default: ``source``."""
        return self.source(metadata)

    def describe(self, docs: Mapping[str, Sequence[Doc]]) -> str:
        """A few lines for people about loaded docs; default: docs per split."""
        return "\n".join([self.name, *(f"  {split}: {len(items)}" for split, items in docs.items())])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []
