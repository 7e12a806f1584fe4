"""``StrategyTask``: the lm-eval task that joins one task family and one prompt strategy.

A task YAML names it with ``class: !function summeval.lm_eval.task.StrategyTask`` (the shared
template ``task_yamls/_summeval_template.yaml`` does) and the pair with ``metadata: {family: <name>,
strategy: <name>}``; ``strategy_options`` in the metadata are fixed by the task (``tweetsumm_one`` fixes
``k: 1``). The family supplies the data, splits, gold answers and metrics; the strategy the prompt,
output type, generation settings, repeats and filters. Keys the YAML sets win over both. Strategy
options come from ``--metadata '{"<strategy>": {...}}'``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lm_eval.api.task import ConfigurableTask

from prompt_strategies.registry import (
    family_tasks,
    get_family,
    get_strategy,
    misspelled_key,
    misspelling_message,
)
from prompt_strategies.strategy import PromptStrategy, StrategyError, StrategyOptions, TaskContext
from summeval.lm_eval.early_stop import SAMPLES_METRIC, drop_not_drawn, mark_stopping
from summeval.lm_eval.shared_prefix import mark_ours
from summeval.lm_eval.task_dir import register_lm_eval_filters
from summeval_tasks.contract import TaskFamily


def strategy_options(
    strategy: PromptStrategy, family: TaskFamily, metadata: Mapping[str, Any], task: str = ""
) -> StrategyOptions:
    """The options of ``strategy`` on ``family``: its defaults, ``--metadata[<strategy>]``, the family's
    metadata keys for it (``tweetsumm_seed``), then the task's fixed ``strategy_options``.

    Setting a fixed option to another value is an error naming the task that fixes it."""
    user = strategy.given_options(metadata)
    merged = dict(user)
    for key, (strategy_name, option) in family_tasks(family).metadata_options.items():
        if strategy_name == strategy.name and metadata.get(key) is not None:
            merged[option] = metadata[key]
    fixed = metadata.get("strategy_options") or {}
    for key, value in fixed.items():
        if key in user and user[key] != value:
            raise StrategyError(
                f"task {task or '?'} fixes {strategy.name} option {key}={value!r}; "
                f"--metadata sets {user[key]!r} "
                f"(run {family.name}_{strategy.name} for other values)"
            )
        merged[key] = value
    return strategy.options({**metadata, strategy.name: merged})


# build_all_requests' arguments that decide how a prompt is rendered (answer_context).
RENDERING = ("system_instruction", "apply_chat_template", "fewshot_as_multiturn", "chat_template")


class StrategyTask(ConfigurableTask):
    """A ``ConfigurableTask`` configured by the family and strategy named in its metadata."""

    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.pop("class", None)
        metadata = dict(config.get("metadata") or {})
        name = metadata.get("strategy")
        if not name:
            raise StrategyError(f"task {config.get('task')!r}: its YAML metadata names no strategy")
        misspelled = misspelled_key(metadata)
        if misspelled:  # our task is requested: a key meant for it must not be ignored
            raise StrategyError(misspelling_message(*misspelled))
        if not metadata.get("family"):
            raise StrategyError(
                f"task {config.get('task')!r}: its YAML metadata names no family (a task YAML of an earlier "
                "version: `summeval task-dir` writes them again)"
            )
        self.family = get_family(metadata["family"])
        self.strategy = get_strategy(name)
        if not self.strategy.applies_to(self.family):
            raise StrategyError(f"strategy {name!r} does not apply to the {self.family.name} family")
        self.strategy_options = strategy_options(self.strategy, self.family, metadata, config.get("task", ""))
        source = metadata.get("config_source")
        self._context = TaskContext(
            family=self.family,
            pool_loader=self._pool,
            config_dir=Path(source).parent if source and source != "inline" else None,
            metadata=metadata,
        )
        register_lm_eval_filters()  # before lm-eval builds the filter pipelines
        family = self.family
        for key, value in self.strategy.lm_eval_settings(family, self.strategy_options).items():
            config.setdefault(key, value)
        # Generated answers of a family with a label set are also read in two stages (two_stage.py).
        self.reads_two_stage = family.two_stage and config.get("output_type") == "generate_until"
        # Sampled repeats drawn in rounds until the strategy's rule stops an item (early_stop.py).
        self.stopping_rule = self.strategy.stopping(family, self.strategy_options)
        self.answer_model: Any = None  # the model, while lm-eval's evaluate runs this task
        self._rendering: dict[str, Any] = {}  # how lm-eval renders prompts (build_all_requests)
        self._samples_drawn: dict[str, int] = {}  # an adaptive task's samples per doc (apply_filters)
        if self.reads_two_stage or self.adaptive:
            _install_two_stage_hook()
        config.setdefault("custom_dataset", _Shared(_FamilyDataset(family), "load_docs"))
        config.setdefault("training_split", family.pool_split)
        config.setdefault("test_split", family.eval_split)
        config.setdefault("doc_to_text", _Shared(self.strategy_prompt, f"{self.strategy.name}_prompt"))
        config.setdefault("doc_to_target", _Shared(family.answer_text, "answer_text"))
        config.setdefault("process_results", _Shared(self.score, f"{family.name}_score"))
        config.setdefault(
            "metric_list",
            [
                {"metric": m, "aggregation": "mean", "higher_is_better": hib}
                for m, hib in family.reported_metrics.items()
            ]
            + (
                [{"metric": SAMPLES_METRIC, "aggregation": "mean", "higher_is_better": False}]
                if self.adaptive
                else []
            ),
        )
        super().__init__(config=config, **kwargs)

    def construct_requests(self, doc, ctx, **kwargs):
        """lm-eval's requests for ``doc``, each marked as ours: its sampled repeats may share one prompt
        encoding (``shared_prefix``); lm-eval's own tasks' requests are never marked."""
        built = super().construct_requests(doc, ctx, **kwargs)
        requests = built if isinstance(built, list) else [built]
        mark_ours(requests)
        if self.adaptive:
            mark_stopping(requests, self.stopping_rule, self.family)
        return built

    @property
    def adaptive(self) -> bool:
        """Whether this task's sampled repeats stop per item by a rule (``stop:`` of self-consistency)."""
        return self.stopping_rule is not None and self.stopping_rule.adaptive

    def _pool(self) -> list:
        return list(self.training_docs()) if self.has_training_docs() else []

    @property
    def strategy_context(self) -> TaskContext:
        """The family, its exemplar pool (training docs, loaded on first use) and where the YAML lives."""
        return self._context

    def strategy_prompt(self, doc: Mapping[str, Any]) -> str:
        """``doc`` as the strategy prompts it, after its exemplars."""
        exemplars = self.strategy.exemplars(doc, self._context, self.strategy_options)
        return self.strategy.prompt(doc, self.family, exemplars, self.strategy_options)

    def fewshot_context(
        self,
        doc: Mapping[str, Any],
        num_fewshot: int,
        system_instruction: str | None = None,
        apply_chat_template: bool = False,
        fewshot_as_multiturn: bool = False,
        chat_template: Any = None,
        gen_prefix: str | None = None,
    ) -> Any:
        """lm-eval's context, except under a chat template with ``fewshot_as_multiturn`` (lm-eval's default
        there): then each worked exemplar of the strategy is its own user and assistant turn
        (``PromptStrategy.chat_turns``), as lm-eval's own few-shot tasks send them. Without a chat
        template the prompt is lm-eval's, from ``doc_to_text``, unchanged."""
        if apply_chat_template and chat_template and fewshot_as_multiturn and not gen_prefix:
            exemplars = self.strategy.exemplars(doc, self._context, self.strategy_options)
            turns = self.strategy.chat_turns(doc, self.family, exemplars, self.strategy_options)
            if turns:
                return _render_turns(turns, system_instruction, chat_template)
        return super().fewshot_context(
            doc,
            num_fewshot,
            system_instruction=system_instruction,
            apply_chat_template=apply_chat_template,
            fewshot_as_multiturn=fewshot_as_multiturn,
            chat_template=chat_template,
            gen_prefix=gen_prefix,
        )

    def set_config(self, key: str, value: Any, update: bool = False) -> None:
        """lm-eval's, refusing the overrides of its command line that would contradict the strategy
        silently: ``--num_fewshot N`` (the strategy chooses its exemplars; lm-eval would add its own) and
        ``--gen_kwargs`` that make a sampling strategy's K samples greedy (``do_sample=false``,
        ``temperature=0``: K identical outputs and a vote over one answer)."""
        task = self.config.task
        if key == "num_fewshot" and value not in (None, 0):
            metadata = json.dumps({"fewshot": {"k": value}})
            raise StrategyError(
                f"{task}: --num_fewshot {value} does not apply to summeval's tasks: the {self.strategy.name} "
                "strategy chooses its own exemplars. Drop it; for a number of exemplars use the fewshot "
                f"strategy's k (--tasks {self.family.name}_fewshot --metadata '{metadata}')"
            )
        super().set_config(key, value, update=update)
        if key == "generation_kwargs" and (self.config.repeats or 1) > 1:
            generation = self.config.generation_kwargs or {}
            greedy = str(generation.get("do_sample", True)).lower() == "false" or _is_zero(
                generation.get("temperature")
            )
            if greedy:
                raise StrategyError(
                    f"{task}: --gen_kwargs {_shown_kwargs(value)} makes the {self.config.repeats} samples of "
                    f"{self.strategy.name} greedy: identical outputs, and a vote over one answer. Drop it; "
                    f"set the sampling temperature with --metadata "
                    f"'{json.dumps({self.strategy.name: {'temperature': 0.7}})}'"
                )

    def build_all_requests(self, **kwargs: Any) -> Any:
        """lm-eval's, remembering how it renders prompts (chat template, system instruction) for the
        second stage's contexts (``answer_context``), which it also needs when requests come from
        lm-eval's request cache."""
        self._rendering = {key: kwargs.get(key) for key in RENDERING}
        self._check_items(kwargs.get("limit"), kwargs.get("samples"))
        render = kwargs.get("chat_template")
        if kwargs.get("apply_chat_template") and callable(render):
            try:  # a model without a chat template fails here in one line, before any request runs
                render([{"role": "user", "content": "?"}])
            except Exception as err:
                reason = f"{type(err).__name__}: {' '.join(str(err).split())[:160]}"
                raise StrategyError(
                    f"{self.config.task}: --apply_chat_template, but the model cannot apply a chat template "
                    f"({reason}); drop --apply_chat_template, or use a model that has one"
                ) from err
        return super().build_all_requests(**kwargs)

    def _check_items(self, limit: Any, samples: Any) -> None:
        """``--limit`` and ``--samples`` as lm-eval hands them to this task, in one line when they name no
        item (lm-eval itself would fail later with a traceback)."""
        task, size = self.config.task, len(self.eval_docs)
        if limit is not None and limit < 1:
            raise StrategyError(
                f"{task}: --limit leaves {limit} items to evaluate; give a number of items (1 to {size}) "
                "or a fraction of them between 0 and 1"
            )
        if samples is not None:
            wrong = [i for i in samples if not isinstance(i, int) or not 0 <= i < size]
            if wrong:
                raise StrategyError(
                    f"{task}: --samples names item {wrong[0]!r}, but its {self.family.eval_split} split has "
                    f"{size} items (0 to {size - 1})"
                )

    def answer_context(self, doc: Mapping[str, Any], context: str) -> str:
        """The second stage's context for ``doc``, whose prompt as sent was ``context``: the same prompt
        without the strategy's exemplars, rendered the same way (``context`` itself where the strategy
        sent none). The exemplars shape the output; reading that output's verdict needs the question
        and the output, and the second stage's cost grows with every token before them."""
        strategy, options = self.strategy, self.strategy_options
        exemplars = strategy.exemplars(doc, self._context, options)
        if not exemplars:
            return context
        rendering = self._rendering
        bare = strategy.prompt(doc, self.family, [], options)
        chat_template = rendering.get("apply_chat_template") and rendering.get("chat_template")
        if chat_template and rendering.get("fewshot_as_multiturn") and not self.doc_to_prefix(doc):
            turns = strategy.chat_turns(doc, self.family, [], options) or [("user", bare)]
            return _render_turns(turns, rendering.get("system_instruction"), chat_template)
        full = strategy.prompt(doc, self.family, exemplars, options)  # one text inside the context
        return context.replace(full, bare, 1) if context.count(full) == 1 else context

    def apply_filters(self) -> Any:
        """lm-eval's filters, after the repeats an adaptive task did not draw are dropped (``early_stop``)
        and after the second stage of each generated answer (``two_stage``)."""
        if self.adaptive and self._instances:
            if self.answer_model is None:  # the evaluate hook that draws the rounds did not run
                raise StrategyError(
                    f"task {self.config.task}: stop: {self.stopping_rule.stop} needs summeval's hook on "
                    "lm-eval's evaluate, which did not run (call lm_eval.simple_evaluate or "
                    "lm_eval.evaluator.evaluate after the task is built, not a copy imported before)"
                )
            drop_not_drawn(self._instances)
            self._samples_drawn = {_doc_key(i.doc): len(i.resps) for i in self._instances}
        if self.reads_two_stage and self._instances:
            if self.answer_model is None:
                raise StrategyError(
                    f"task {self.config.task}: two-stage answers need the model, but lm-eval's evaluate ran "
                    "without summeval's hook (call lm_eval.simple_evaluate or lm_eval.evaluator.evaluate "
                    "after the task is built, not a copy of evaluate imported before)"
                )
            from summeval.lm_eval.two_stage import add_two_stage_answers

            add_two_stage_answers(self, self.family, self.answer_model)
        result = super().apply_filters()
        if self.reads_two_stage and self._instances:
            from summeval.lm_eval.two_stage import carry_two_stage

            carry_two_stage(self._instances, self.family)
        return result

    def score(self, doc: Mapping[str, Any], results: list[Any]) -> dict[str, float]:
        """Per-doc metrics of the family for the filtered results (see ``read_result``), and those of the
        two-stage answer where the family has them (a multiple-choice answer is its own two-stage one)."""
        from summeval.lm_eval.two_stage import two_stage_of

        answer = read_result(self.family, results)
        scores = dict(self.family.score(doc, answer))
        if self.adaptive:
            scores[SAMPLES_METRIC] = float(self._samples_drawn[_doc_key(doc)])
        if self.family.two_stage:
            two = answer if not self.reads_two_stage else two_stage_of(results[0] if results else None)
            if two is None:
                raise StrategyError(
                    f"task {self.config.task}: an answer has no two-stage answer: {results!r}"
                )
            scores.update(self.family.score_two_stage(doc, answer, two))
        return scores


def _doc_key(doc: Mapping[str, Any]) -> str:
    """A doc told apart by its content (lm-eval hands ``process_results`` a fresh copy of each doc)."""
    return json.dumps(doc, sort_keys=True, default=repr)


def _is_zero(value: Any) -> bool:
    try:
        return value is not None and float(value) == 0
    except (TypeError, ValueError):
        return False


def _shown_kwargs(value: Any) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _render_turns(turns: Any, system_instruction: str | None, chat_template: Any) -> str:
    """``(role, text)`` turns after the system instruction (if any), through lm-eval's chat template."""
    system = [{"role": "system", "content": system_instruction}] if system_instruction else []
    messages = [*system, *({"role": role, "content": text} for role, text in turns)]
    return chat_template(messages, add_generation_prompt=True)


def read_result(family: TaskFamily, results: list[Any]) -> Any:
    """The answer of a doc's filtered results: the read generated text, or the most likely choice."""
    if results and isinstance(
        results[0], tuple
    ):  # multiple_choice: one (loglikelihood, is_greedy) per choice
        scores = [ll for ll, _ in results]
        return family.choice_answer(max(range(len(scores)), key=scores.__getitem__))
    return family.read_answer(results[0] if results else "")


def _install_two_stage_hook() -> None:
    """Wrap lm-eval's ``evaluate`` so that our tasks get their model (``two_stage.patch_evaluate``)."""
    import lm_eval.evaluator

    from summeval.lm_eval.two_stage import patch_evaluate

    patch_evaluate(lm_eval.evaluator)


class _FamilyDataset:
    """``custom_dataset``: the family's docs of every split as a ``datasets.DatasetDict``."""

    def __init__(self, family: TaskFamily) -> None:
        self.family = family

    def __call__(self, **metadata: Any):
        import datasets

        docs = self.family.load(metadata)
        return datasets.DatasetDict(
            {split: datasets.Dataset.from_list(list(items)) for split, items in docs.items()}
        )


class _Shared:
    """A callable in a task config; copying the config must not copy the task (and its data)."""

    def __init__(self, function: Any, name: str) -> None:
        self.function = function
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __deepcopy__(self, memo: dict) -> _Shared:
        return self

    def __repr__(self) -> str:
        return f"<summeval {self.__name__}>"
