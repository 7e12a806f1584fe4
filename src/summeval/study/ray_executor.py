"""A study's cells on a Ray cluster (``summeval study --executor ray``; ``pip install "summeval[ray]"``).

The driver (the ``summeval study`` process) does what it does without Ray: it checks the inputs, holds the
``--out`` folder, computes the cells' keys and, at the end, writes the one report from the store. In
between, the study's graph (``summeval.study.graph``) runs as Ray tasks: an adapter is trained before the
cells that load it (``train:<model>``), active-prompt exemplars are selected once per model and family
before the cells that read them (``select:<model>/<family>``), every other cell is independent. Each task
asks for what its model needs (a GPU for ``hf`` on a GPU, ``tensor_parallel_size`` GPUs for vLLM on one,
one CPU otherwise), so Ray packs the cells onto the cluster.

A cell task computes its key, skips a cell that is already saved under it, evaluates the cell on its model
(a worker keeps the last model it loaded for the next cell of the same model) and saves it through the
same ``worker.run_and_save`` as the sequential loop, written atomically: a worker that dies mid-cell
leaves nothing a reader takes for a result, and Ray runs the cell again elsewhere (at most
``MAX_RETRIES`` times). A cell that keeps failing is reported with its error; the others finish.

Every node must see the ``--out`` folder, summeval's cache and the models, adapters and data the config
names at the same paths (a shared filesystem): ``check_nodes`` asks each node before any task runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summeval.study.plan import Cell, StudyConfig, StudyConfigError

MAX_RETRIES = 2
"""How many times Ray runs a task again after its worker died (a task that raises is not retried)."""
FORWARDED_ENVIRONMENT = ("SUMMEVAL_", "HF_", "TRANSFORMERS_", "VLLM_", "CUDA_VISIBLE_DEVICES")
"""The driver's environment variables that every worker gets (the cache, offline mode, vLLM settings)."""


@dataclass
class RayRun:
    """What the Ray executor did: each finished cell's record summary and each failed cell's error."""

    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    adapters: dict[str, float] = field(default_factory=dict)
    """Model → seconds its adapter trained (in a worker)."""
    resources: dict[str, float] = field(default_factory=dict)
    """The cluster's total resources (CPU, GPU) when the study started."""


def import_ray():
    """``ray``, or one line saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise StudyConfigError(
            'executor ray: Ray is not installed; pip install "summeval[ray]" (or use executor: local)'
        ) from err
    return ray


def forwarded_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables of ``environ`` the workers get (``FORWARDED_ENVIRONMENT``)."""
    return {k: v for k, v in environ.items() if k.startswith(FORWARDED_ENVIRONMENT)}


def cell_resources(config: StudyConfig, model: str, device: str | None) -> dict[str, float]:
    """The Ray resources a task of ``model`` asks for: its GPUs (vLLM's ``tensor_parallel_size``, 1 for
    ``hf`` on a GPU) or one CPU."""
    spec = config.models[model]
    on_gpu = str(device or "").startswith("cuda") or (spec.backend == "vllm" and _cluster_has_gpus())
    if not on_gpu:
        return {"num_cpus": 1}
    gpus = int(spec.model_args.get("tensor_parallel_size", 1)) if spec.backend == "vllm" else 1
    return {"num_cpus": 1, "num_gpus": gpus}


def _cluster_has_gpus() -> bool:
    import ray

    return ray.cluster_resources().get("GPU", 0) > 0


def shared_paths(config: StudyConfig, out: Path, inputs: Any) -> list[Path]:
    """The paths every node must see: ``out``, summeval's cache, local model folders, adapters' folders,
    data files and exemplar files the config names."""
    from summeval_tasks.util.settings import cache_root

    paths = [out.resolve(), Path(cache_root()).resolve()]
    paths += [Path(p) for p in inputs.pretrained.values() if Path(p).is_dir()]
    paths += [_existing(Path(a).resolve()) for a in inputs.adapters.values()]  # one to train: its folder
    paths += [Path(v) for v in config.data.values() if Path(v).exists()]
    for options in config.options.values():
        paths += [Path(v) for k, v in options.items() if k.endswith("_file") and isinstance(v, str) and v]
    return list(dict.fromkeys(paths))


def _existing(path: Path) -> Path:
    """``path``, or its nearest folder that exists (where an adapter to train will be written)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _missing(paths: Sequence[str]) -> tuple[str, list[str]]:
    """On a node: its address and the paths it cannot see."""
    import ray

    return ray.util.get_node_ip_address(), [p for p in paths if not os.path.exists(p)]


def check_nodes(paths: Sequence[Path]) -> None:
    """Ask every alive node whether it sees ``paths``; one line naming the first node and path it does
    not."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0)(_missing)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    answers = ray.get(
        [
            probe.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            ).remote([str(p) for p in paths])
            for node in nodes
        ]
    )
    for address, missing in answers:
        if missing:
            raise StudyConfigError(
                f"executor ray: node {address} cannot see {missing[0]}; every node must see the --out "
                "folder, the cache and the models, adapters and data the config names, at the same paths "
                "(a shared filesystem)"
            )


# ----------------------------------------------------------------------------- the tasks (run in workers)

_HELD: dict[str, Any] = {}
"""In a worker: the model it loaded last (``key`` → what identifies it, ``lm``), kept for the next cell of
the same model."""


def _model_for(config: StudyConfig, model: str, inputs: Any, adapter_print: Any) -> Any:
    """The lm-eval model of ``model`` in this worker: the one held if it is the same, else loaded (the
    one held before released first)."""
    import gc

    from summeval.lm_eval.runner import release_lm
    from summeval.study.backends import load_model
    from summeval.study.inputs import sha256_json
    from summeval.study.worker import empty_cuda_cache, one_progress_display

    key = sha256_json({"model": model, "adapter": adapter_print, "device": inputs.devices[model]})
    if _HELD.get("key") == key:
        return _HELD["lm"]
    if "lm" in _HELD:
        release_lm(_HELD.pop("lm"))
        _HELD.clear()
        gc.collect()
        empty_cuda_cache()
    spec = config.models[model]
    lm = load_model(spec, inputs.pretrained[model], inputs.adapters.get(model), config, inputs.devices[model])
    one_progress_display(lm)
    _HELD.update(key=key, lm=lm)
    return lm


def _train_task(config: StudyConfig, model: str, inputs: Any, out: Path) -> tuple[Any, float]:
    """Train ``model``'s adapter when it is missing; its fingerprint and the seconds it took."""
    from summeval.study.adapters import ensure_adapter
    from summeval.study.inputs import adapter_fingerprint

    adapter, seconds = ensure_adapter(config, model, inputs, out)
    return (adapter_fingerprint(adapter) if adapter is not None else None), seconds


def _select_task(
    config: StudyConfig, cell: Cell, inputs: Any, out: Path, trained: tuple[Any, float] | None
) -> float:
    """Select the exemplars ``cell``'s model and family read (once; a saved file is reused)."""
    from summeval.study.exemplars import exemplars_for
    from summeval.study.keys import adapter_prints

    adapter_print = trained[0] if trained else adapter_prints(config, inputs).get(cell.model)
    lm = _model_for(config, cell.model, inputs, adapter_print)
    return exemplars_for(config, cell, lm, inputs, out, adapter_print)[1]


def _cell_task(
    config: StudyConfig,
    cell: Cell,
    inputs: Any,
    out: Path,
    trained: tuple[Any, float] | None,
    selected: float | None,
) -> dict[str, Any]:
    """Evaluate and save ``cell`` unless it is saved under its key already; a summary of what ran."""
    import ray

    from summeval.study.inputs import sha256_json
    from summeval.study.keys import adapter_prints, cell_settings
    from summeval.study.store import cached
    from summeval.study.worker import run_and_save

    adapter_print = trained[0] if trained else adapter_prints(config, inputs).get(cell.model)
    key = sha256_json(cell_settings(config, cell, inputs, adapter_print))
    if cached(out, cell, key):
        return {"cell": cell.id, "cached": True}
    started = time.time()
    lm = _model_for(config, cell.model, inputs, adapter_print)
    record = run_and_save(config, cell, lm, inputs, out, adapter_print)
    return {
        "cell": cell.id,
        "cached": False,
        "seconds": record["seconds"],
        "selection_seconds": (selected or 0.0) + record["selection_seconds"],
        "started": started,
        "ended": time.time(),
        "node": ray.get_runtime_context().get_node_id(),
        "pid": os.getpid(),
    }


# ----------------------------------------------------------------------------- the driver


def run_on_ray(
    config: StudyConfig,
    out: Path,
    inputs: Any,
    to_run: Sequence[Cell],
    *,
    address: str | None,
    progress: bool,
) -> RayRun:
    """Run ``to_run`` (and the adapters and selections they need) as Ray tasks; connect to the cluster at
    ``address`` (``auto``: the one ``ray start`` made here) or start one on this machine, unless this
    process is connected already. Returns when every task finished or failed. Ctrl-C stops this study's
    tasks (a cluster started here is shut down, on another one they are cancelled) and leaves ``out``
    resumable."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            runtime_env={"env_vars": forwarded_environment()},
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        check_nodes(shared_paths(config, out, inputs))
        return _dispatch(ray, config, out, inputs, to_run, progress, own_cluster=started_here)
    finally:
        if started_here:
            ray.shutdown()


def _dispatch(
    ray: Any,
    config: StudyConfig,
    out: Path,
    inputs: Any,
    to_run: Sequence[Cell],
    progress: bool,
    own_cluster: bool,
) -> RayRun:
    from tqdm import tqdm

    from summeval.study.inputs import adapter_current
    from summeval.study.keys import cell_options, selects_exemplars

    run = RayRun(resources={k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU")})
    options = {"max_retries": MAX_RETRIES}
    train, select, cells = ray.remote(_train_task), ray.remote(_select_task), ray.remote(_cell_task)
    trained: dict[str, Any] = {}
    selected: dict[tuple[str, str], Any] = {}
    pending: dict[Any, str] = {}
    for model in dict.fromkeys(c.model for c in to_run):
        resources = cell_resources(config, model, inputs.devices[model])
        if model in inputs.recipes and not adapter_current(config, model, inputs):
            processes = config.models[model].train_processes  # torchrun: one GPU (or CPU) a process
            needs = {k: v * processes for k, v in resources.items()}
            trained[model] = train.options(**options, **needs).remote(config, model, inputs, out)
            pending[trained[model]] = f"train:{model}"
    for cell in to_run:
        resources = cell_resources(config, cell.model, inputs.devices[cell.model])
        adapter = trained.get(cell.model)
        selection = None
        if selects_exemplars(cell, cell_options(config, cell)):
            family_key = (cell.model, cell.family.name)
            if family_key not in selected:
                selected[family_key] = select.options(**options, **resources).remote(
                    config, cell, inputs, out, adapter
                )
                pending[selected[family_key]] = f"select:{cell.model}/{cell.family.name}"
            selection = selected[family_key]
        ref = cells.options(**options, **resources).remote(config, cell, inputs, out, adapter, selection)
        pending[ref] = f"cell:{cell.id}"
    print(
        f"summeval study: {len(pending)} tasks on Ray ({_describe(run.resources)})",
        flush=True,
    )
    bar = tqdm(total=len(to_run), desc="study (ray)", unit="cell", disable=not progress or not to_run)
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                kind, _, name = task.partition(":")
                try:
                    value = ray.get(ref)
                except Exception as err:  # the task raised (or its worker kept dying): report, go on
                    message = _error_line(err)
                    if kind == "cell":
                        run.failed[name] = message
                        bar.update(1)
                    bar.write(f"summeval study: {task} failed: {message}")
                    continue
                if kind == "train":
                    run.adapters[name] = round(value[1], 2)
                elif kind == "cell":
                    run.done[name] = value
                    bar.update(1)
                    if not value["cached"]:
                        bar.write(f"summeval study: {name} done in {value['seconds']:.0f} s")
    except KeyboardInterrupt:
        if not own_cluster:  # a cluster of ours is stopped whole by ray.shutdown, its workers with it
            for ref in pending:  # not force=True: Ray 2.60's driver can abort on a task that just ended
                ray.cancel(ref, force=False)
        bar.close()
        print(
            f"summeval: study {config.name} interrupted: its Ray tasks are cancelled; finished cells are "
            "kept, run the same command again to resume",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(130) from None
    bar.close()
    return run


def _describe(resources: Mapping[str, float]) -> str:
    return ", ".join(f"{v:g} {k}" for k, v in sorted(resources.items())) or "no resources"


def _error_line(err: BaseException) -> str:
    """A failed task's error on one line: the cause's type and message, not Ray's wrapped traceback."""
    cause = getattr(err, "cause", None) or err
    text = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {text}"[:500]
