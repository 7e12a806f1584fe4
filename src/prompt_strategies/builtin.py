"""The built-in strategies, registered through the same hooks as any third-party plugin.

Each works on any family through the family contract; ``applies_to`` says where it makes sense
(chain of thought needs a family that reads answers from reasoning; multiple choice needs fixed
choices; ``instruct`` needs an instruction format).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from prompt_strategies.exemplars import choose_exemplars, read_exemplar_file
from prompt_strategies.hookspecs import hookimpl
from prompt_strategies.stopping import STOPS, VOTING_REDUCTION, StoppingError, StoppingRule
from prompt_strategies.strategy import (
    GenerationOptions,
    PromptStrategy,
    StrategyError,
    answer_pipeline,
    option,
)
from summeval_tasks.contract import TaskFamily
from summeval_tasks.util.bounds import DEFAULT_SEED, EXEMPLARS, SAMPLES, SEED, TEMPERATURE

COT_CUE = "Let's think step by step."
# Worked exemplars are separated by a blank line: a model that follows their format has finished its
# answer when it writes one, so reasoning after exemplars stops there (as lm-eval's bbh CoT tasks do).
EXEMPLAR_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class FewShotOptions(GenerationOptions):
    k: int = option(
        3,
        "exemplars before each item",
        (EXEMPLARS.accepts, f"{EXEMPLARS.right} (for no exemplars, run answer_only)"),
    )
    seed: int = option(
        DEFAULT_SEED, "seeds each item's choice of exemplars (the study's seed in a study)", SEED
    )


# k of an exemplar file: -1 takes every exemplar in it.
_K_OF_FILE = (
    lambda k: k == -1 or EXEMPLARS.accepts(k),
    f"{EXEMPLARS.right}, or -1 for every exemplar in the file",
)


@dataclass(frozen=True)
class CotFewShotOptions(GenerationOptions):
    k: int = option(
        3,
        "the first k exemplars of the file (the item itself left out); -1: every one",
        _K_OF_FILE,
    )
    exemplars_file: str = option(
        "", "exemplars with rationales (JSON); empty: the family's own file; relative: beside the task YAML"
    )


@dataclass(frozen=True)
class SelfConsistencyOptions(CotFewShotOptions):
    samples: int = option(
        10,
        "answers sampled per item (the most, under a stopping rule), reduced to one by the family",
        SAMPLES,
    )
    temperature: float = option(0.7, "sampling temperature", TEMPERATURE)
    stop: str = option(
        "fixed",
        "when an item stops sampling: fixed (all samples), window (the last `window` answers agree; a "
        "consensus family: its consensus unchanged over them) or beta (the leader's posterior probability "
        "of being the majority reaches `threshold`); see prompt_strategies.stopping",
        (lambda value: value in STOPS, f"one of {', '.join(STOPS)}"),
    )
    window: int = option(
        5, "stop: window: samples per round, and the agreeing answers that stop an item", SAMPLES
    )
    threshold: float = option(
        0.95,
        "stop: beta: the posterior probability of the leading answer that stops an item",
        (lambda value: 0.5 < value < 1, "above 0.5 and below 1"),
    )
    round_size: int = option(4, "stop: beta: samples per round", SAMPLES)


@dataclass(frozen=True)
class ActivePromptOptions(CotFewShotOptions):
    k: int = option(
        -1,
        "the first k exemplars of the file (the item itself left out); -1: every one (the selection's n)",
        _K_OF_FILE,
    )
    exemplars_file: str = option(
        "", "the file `summeval active-prompt select` wrote; empty: metadata active_prompt_exemplars"
    )


def _with_exemplars(family, doc, exemplars, *, rationales: bool) -> str:
    shots = [family.exemplar(ex, ex.get("rationale") if rationales else None) for ex in exemplars]
    return EXEMPLAR_SEPARATOR.join([*shots, family.question(doc)])


def _exemplar_turns(family, doc, exemplars, *, rationales: bool) -> list[tuple[str, str]] | None:
    """``_with_exemplars`` as chat turns: each exemplar's question from the user and its rationale or
    gold answer from the assistant, then the item's question; None with no exemplars (one user turn)."""
    if not exemplars:
        return None
    turns = []
    for ex in exemplars:
        turns += [
            ("user", family.question(ex)),
            ("assistant", family.exemplar_answer(ex, ex.get("rationale") if rationales else None)),
        ]
    return [*turns, ("user", family.question(doc))]


class AnswerOnly(PromptStrategy):
    name = "answer_only"
    description = "Zero-shot: the item alone, answered directly (no exemplars, no reasoning)."
    Options = GenerationOptions

    def prompt(self, doc, family, exemplars, options):
        return family.direct_question(doc)

    def chat_turns(self, doc, family, exemplars, options):
        question = family.chat_direct_question(doc)
        return [("user", question)] if question else None


class AnswerOnlyMultipleChoice(PromptStrategy):
    name = "answer_only_mc"
    description = "Score the family's fixed choices by log-likelihood (lm-eval multiple_choice)."

    def applies_to(self, family):
        return bool(family.choices)

    def prompt(self, doc, family, exemplars, options):
        return family.question(doc)

    def lm_eval_settings(self, family, options):
        return {
            "output_type": "multiple_choice",
            "doc_to_choice": list(family.choices),
            "doc_to_target": family.target_index,
            "target_delimiter": " ",
        }

    def primary_filter(self, family, options):
        return "none"


class Instruct(PromptStrategy):
    name = "instruct"
    description = "The family's instruction (fine-tuning) format, zero-shot: what adapters are trained on."
    Options = GenerationOptions

    def applies_to(self, family):
        return type(family).instruction_prompt is not TaskFamily.instruction_prompt

    def prompt(self, doc, family, exemplars, options):
        text = family.instruction_prompt(doc)
        if text is None:
            raise StrategyError(f"{self.name}: family {family.name!r} has no instruction format")
        return text


class FewShot(PromptStrategy):
    name = "fewshot"
    description = "k worked exemplars from the train split (seeded per item, never the item), then the item."
    Options = FewShotOptions

    def exemplars(self, doc, context, options):
        return choose_exemplars(doc, context.pool, options.k, options.seed, context.family.same_item)

    def prompt(self, doc, family, exemplars, options):
        return _with_exemplars(family, doc, exemplars, rationales=False)

    def chat_turns(self, doc, family, exemplars, options):
        return _exemplar_turns(family, doc, exemplars, rationales=False)


class ChainOfThought(PromptStrategy):
    name = "cot"
    description = f'Zero-shot chain of thought: "{COT_CUE}", then the answer.'
    Options = GenerationOptions
    reasoning = True

    def prompt(self, doc, family, exemplars, options):
        return f"{family.question(doc)} {COT_CUE}"


class ChainOfThoughtFewShot(ChainOfThought):
    name = "cot_fewshot"
    description = "Worked exemplars with rationales from the family's exemplar file, then the item."
    Options = CotFewShotOptions

    def stop_sequences(self, family):
        stops = super().stop_sequences(family)
        if self.reasons(family) and EXEMPLAR_SEPARATOR not in stops:
            stops.append(EXEMPLAR_SEPARATOR)  # the conclusion's sentence ends the answer, as in the exemplars
        return stops

    def exemplar_file(self, context, options: CotFewShotOptions):
        name = options.exemplars_file or context.family.cot_exemplars_file
        if not name:
            raise StrategyError(
                f"{self.name}: no exemplar file given (option exemplars_file) and family "
                f"{context.family.name!r} has none of its own"
            )
        return context.resolve(name)

    def exemplars(self, doc, context, options):
        path = self.exemplar_file(context, options)
        family = context.family
        entries = [e for e in read_exemplar_file(path, family) if not family.same_item(e, doc)]
        k = options.k
        if k < 0:
            return entries
        if k > len(entries):
            raise StrategyError(
                f"{self.name}: k={k} exemplars requested but {path} has {len(entries)} usable for "
                f"{doc.get('id')!r}"
            )
        return entries[:k]

    def prompt(self, doc, family, exemplars, options):
        return _with_exemplars(family, doc, exemplars, rationales=True)

    def chat_turns(self, doc, family, exemplars, options):
        return _exemplar_turns(family, doc, exemplars, rationales=True)


class SelfConsistency(ChainOfThoughtFewShot):
    name = "self_consistency"
    description = (
        "K samples (temperature 0.7) of few-shot chain of thought, or of the zero-shot prompt where the "
        "family has no reasoning; the family reduces them to one (majority vote, consensus summary)."
    )
    Options = SelfConsistencyOptions

    def applies_to(self, family):
        return True

    def reasons(self, family):
        return family.supports_reasoning

    def exemplars(self, doc, context, options):
        return super().exemplars(doc, context, options) if context.family.supports_reasoning else []

    def prompt(self, doc, family, exemplars, options):
        if family.supports_reasoning:
            return super().prompt(doc, family, exemplars, options)
        return family.direct_question(doc)

    def chat_turns(self, doc, family, exemplars, options):
        return super().chat_turns(doc, family, exemplars, options) if family.supports_reasoning else None

    def stopping(self, family, options):
        try:
            return StoppingRule(
                stop=options.stop,
                most=options.samples,
                window=options.window,
                threshold=options.threshold,
                round_size=options.round_size,
                votes=family.reduction == VOTING_REDUCTION,
            )
        except StoppingError as err:
            raise StrategyError(f"{self.name} on {family.name}: {err}") from err

    def lm_eval_settings(self, family, options):
        samples = options.samples
        if samples < 1:  # dataclasses.replace skips the option checks
            raise StrategyError(f"{self.name}: samples must be at least 1, got {samples}")
        self.stopping(family, options)  # a rule that cannot apply is refused with the task
        max_gen_toks = self.max_gen_toks(family, options)
        if options.temperature <= 0:
            raise StrategyError(f"{self.name}: temperature must be above 0, got {options.temperature}")
        return {
            "output_type": "generate_until",
            "repeats": samples,
            "generation_kwargs": {
                "until": self.stop_sequences(family),
                "do_sample": True,
                "temperature": options.temperature,
                "max_gen_toks": max_gen_toks,
            },
            # Like lm-eval's gsm8k self-consistency task: the reduction, and the first sample alone.
            "filter_list": [
                answer_pipeline(f"{family.reduction}@{samples}", family, reduce=True),
                answer_pipeline("first", family),
            ],
        }


class ActivePrompt(ChainOfThoughtFewShot):
    name = "active_prompt"
    selects_exemplars = True
    description = (
        "Exemplars chosen by the model's uncertainty on the train split (Diao et al.), from "
        "`summeval active-prompt select`; with rationales where the family reasons."
    )
    Options = ActivePromptOptions
    METADATA_KEY = "active_prompt_exemplars"

    def applies_to(self, family):
        return True

    reasons = SelfConsistency.reasons

    def options(self, metadata=None):
        options = super().options(metadata)
        if not options.exemplars_file:
            options = replace(options, exemplars_file=str((metadata or {}).get(self.METADATA_KEY) or ""))
        return options

    def exemplar_file(self, context, options):
        if not options.exemplars_file:
            raise StrategyError(
                f"{self.name}: no exemplar file. Make one with `summeval active-prompt select --task "
                f"{context.family.name} --model-args ... --out exemplars.json`, then pass "
                f'--metadata \'{{"{self.METADATA_KEY}": "exemplars.json"}}\''
            )
        return super().exemplar_file(context, options)

    def prompt(self, doc, family, exemplars, options):
        return _with_exemplars(family, doc, exemplars, rationales=family.supports_reasoning)

    def chat_turns(self, doc, family, exemplars, options):
        return _exemplar_turns(family, doc, exemplars, rationales=family.supports_reasoning)


BUILTIN_STRATEGIES = (
    AnswerOnly(),
    AnswerOnlyMultipleChoice(),
    FewShot(),
    ChainOfThought(),
    ChainOfThoughtFewShot(),
    SelfConsistency(),
    ActivePrompt(),
    Instruct(),
)


@hookimpl
def summeval_strategies():
    return list(BUILTIN_STRATEGIES)
