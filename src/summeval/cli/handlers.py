"""The handlers of the ``summeval`` subcommands: each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summeval_tasks.contract import TaskFamily


def _embedded_model(args: argparse.Namespace) -> int:
    from summeval.training.embedded_model import embedded_model_path

    print(embedded_model_path(args.cache_dir, verify=True))  # every file's sha256 checked
    return 0


def json_object_argument(text: str | None, flag: str, example: str) -> dict:
    """The JSON object a command-line option holds (``{}`` when not given); anything else is one line."""
    from summeval.paths import UsageError

    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        raise UsageError(f"{flag} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise UsageError(f"{flag} must be a JSON object, e.g. '{example}'")
    return value


def _task_dir(args: argparse.Namespace) -> int:
    if args.show:
        from summeval.lm_eval.runner import resolved_task

        metadata = json_object_argument(args.metadata, "--metadata", '{"sports_data": "sample"}')
        print(resolved_task(args.show, metadata), end="")
        return 0
    from summeval.lm_eval.startup import summeval_task_dir

    print(summeval_task_dir())
    return 0


FAMILY_SHORT_NAMES = {"sports": "sports_understanding"}


def resolve_family(value: str) -> TaskFamily:
    """The family the user named (``sports`` is short for ``sports_understanding``), read once."""
    from prompt_strategies.registry import get_family

    return get_family(FAMILY_SHORT_NAMES.get(value, value))


def _data(args: argparse.Namespace) -> int:
    family = resolve_family(args.task)
    metadata = {family.data_key: args.source} if family.data_key and args.source else {}
    docs = family.load(metadata)
    if args.show is None:
        print(family.describe(docs))
        print(f"source: {family.describe_source(metadata)}")
        return 0
    for items in docs.values():
        for doc in items:
            if str(doc.get("id")) == args.show:
                print(json.dumps(dict(doc), indent=2, ensure_ascii=False))
                return 0
    print(f"summeval: no {family.name} item with id {args.show!r}", file=sys.stderr)
    return 1


def _strategies(args: argparse.Namespace) -> int:
    from prompt_strategies.registry import applicable_strategies, families, owners, strategies, task_table

    strategy_owners, family_owners = owners("strategy"), owners("family")
    print("Task families:")
    for name, family in families().items():
        print(f"  {name}  (from {family_owners.get(name, '?')})")
        print(f"      {family.description}")
        print(f"      strategies: {', '.join(applicable_strategies(family))}")
    print("Strategies (task <family>_<strategy>):")
    for name, strategy in strategies().items():
        runs_on = [f.name for f in families().values() if strategy.applies_to(f)]
        print(f"  {name}  (from {strategy_owners.get(name, '?')}; families: {', '.join(runs_on) or 'none'})")
        print(f"      {strategy.description}")
        for option, (default, help_text, right) in strategy.option_help().items():
            print(f"      {option} = {json.dumps(default)}: {help_text}{f'; {right}' if right else ''}")
    aliases = {t: e for t, e in task_table().items() if t != f"{e['family']}_{e['strategy']}"}
    if aliases:
        print("Other task names:")
        for task, entry in aliases.items():
            fixed = f" with {json.dumps(entry['options'])}" if entry["options"] else ""
            print(f"  {task} = {entry['family']}_{entry['strategy']}{fixed}")
    return 0


def _selection(args: argparse.Namespace, prefix: str = "", **more: object):
    """The active-prompt settings of ``active-prompt select`` (``--k``) and ``compare`` (``--active-k``,
    ``prefix="active_"``), read once."""
    from summeval.study.selection import Selection

    return Selection(
        k=getattr(args, f"{prefix}k"),
        n=getattr(args, f"{prefix}n"),
        uncertainty=getattr(args, f"{prefix}uncertainty"),
        pool_size=getattr(args, f"{prefix}pool_size"),
        **more,
    )


def _active_prompt_select(args: argparse.Namespace) -> int:
    from summeval.lm_eval.runner import load_lm, released
    from summeval.paths import input_file, output_file
    from summeval.study.selection import check_selection, select_to_file

    family = resolve_family(args.task)
    output_file(args.out, "--out")
    if args.annotations:
        input_file(args.annotations, "--annotations")
    selection = _selection(
        args,
        pool_split=args.pool,
        annotations=args.annotations,
        temperature=args.temperature,
        max_gen_toks=args.max_gen_toks,
    )
    check_selection(family, args.data, selection, args.seed)  # bad input fails here, before the model loads
    extra = {"batch_size": args.batch_size, "device": args.device}
    with released(load_lm(args.model, args.model_args, extra)) as lm:
        content = select_to_file(
            lm,
            family=family,
            data=args.data,
            selection=selection,
            seed=args.seed,
            out=args.out,
            apply_chat_template=args.apply_chat_template,
            model_description=f"{args.model} {args.model_args}",
        )
    metric = content["uncertainty"]
    for exemplar in content["exemplars"]:
        about = exemplar.get("statement") or exemplar.get("summary") or ""
        print(
            f"{exemplar['id']}  {metric}={exemplar['uncertainty']:.3f}  "
            f"[{exemplar['rationale_source']}]  {about}"
        )
    print(args.out)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from summeval.paths import input_file
    from summeval.report.study import results_section
    from summeval.study.compare import compare_plan, resolve_strategies
    from summeval.study.run import run_study

    family = resolve_family(args.task)
    if args.active_prompt_exemplars:
        input_file(args.active_prompt_exemplars, "--active-prompt-exemplars")
    options = json_object_argument(args.options, "--options", '{"self_consistency": {"samples": 5}}')
    plan = compare_plan(
        model=args.model,
        model_args=args.model_args,
        strategies_to_run=resolve_strategies(args.strategies, family),
        family=family,
        data=args.data,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
        apply_chat_template=args.apply_chat_template,
        options=options,
        exemplars_file=args.active_prompt_exemplars,
        selection=_selection(args, "active_"),
        seed=args.seed,
    )
    report = run_study(plan, args.out, progress=not args.no_progress)["report"]
    print(results_section(report))
    print(f"report: {report} and {report.with_suffix('.html')} (a CSV per strategy in samples/)")
    return 0


def _study(args: argparse.Namespace) -> int:
    from summeval.paths import UsageError
    from summeval.study.config import load_study
    from summeval.study.run import rebuild_report, run_study

    config = load_study(args.config)
    if args.executor or args.ray_address:
        executor = args.executor or config.executor
        if args.ray_address and executor != "ray":
            raise UsageError("--ray-address is for --executor ray (the config's executor is local)")
        address = args.ray_address or config.ray_address
        config = dataclasses.replace(config, executor=executor, ray_address=address)
    out = args.out or Path("results") / f"study-{config.name}"
    if args.report_only:
        report = rebuild_report(config, out)
    else:
        summary = run_study(config, out, progress=not args.no_progress)
        report = summary["report"]
        if summary["failed"]:
            print(f"report: {report} and {report.with_suffix('.html')}")
            print(
                f"summeval study: {len(summary['failed'])} cell(s) failed (the report lists them); run the "
                "same command again to retry them",
                file=sys.stderr,
            )
            return 1
    print(f"report: {report} and {report.with_suffix('.html')}")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from summeval.training.finetune import finetune
    from summeval.training.recipe import load_recipe

    overrides = list(args.set or [])
    if args.base:
        overrides.append(f"base_model={args.base}")
    if args.data:
        overrides.append(f"data={args.data}")
    from summeval.paths import input_file, output_folder
    from summeval.training.finetune import launched_processes

    input_file(args.recipe, "--recipe")
    recipe = load_recipe(args.recipe, overrides)
    output = args.output or f"adapters/{recipe.name}"
    output_folder(output, "--output", new=True)
    finetune(
        recipe, output, max_steps=args.max_steps, resume=args.resume, keep_checkpoints=args.keep_checkpoints
    )
    if launched_processes()[0] == 0:  # under torchrun, the main process says where the adapter is
        print(output)
    return 0


def _merge(args: argparse.Namespace) -> int:
    from summeval.paths import output_folder
    from summeval.training.adapters import merge_adapter

    output_folder(args.out, "--out", new=True)
    print(merge_adapter(args.adapter, args.out, base=args.base))
    return 0
