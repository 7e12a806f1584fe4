"""``summeval study``: every cell of a study config through lm-eval, cached, then one report.

A cell is one model on one task. Each finished cell is saved in ``OUT/cells/<model>/<task>/`` (written
under a temporary name, then renamed): ``cell.json`` (its settings and their key, lm-eval's results, the
per-item scores, timings), ``samples.jsonl`` (lm-eval's per-sample log) and ``samples.csv``. A re-run
skips a cell whose key (the cell's settings, its data's sha256, the model's and adapter's fingerprints,
the summeval and lm-eval versions) is unchanged, so an interrupted run loses at most the cell in progress.
Adapters named by a recipe are trained first when missing (``OUT/adapters/<model>`` by default);
active-prompt exemplars are selected once per model and family (``OUT/exemplars/``).

The package, one module per job (each imports only those before it):

* ``selection``: active-prompt stage one (its settings, their check, the selection itself);
* ``plan``: a study's models, cells (models x tasks), comparisons and published figures;
* ``config``: a study config file (YAML) read into a plan, every field checked;
* ``inputs``: versions, fingerprints, data hashes, backends and devices, checked before any model loads;
* ``keys``: what a cell's outputs depend on (its settings) and their sha256, the cell's cache key;
* ``store``: the cell store (``OUT/cells/``), written atomically, trusted by each file's sha256;
* ``evaluation``: evaluating one cell (``evaluate_cell``, through ``summeval.lm_eval``) and its record;
* ``adapters``: adapters trained from their recipe; ``exemplars``: a study's active-prompt exemplars,
  selected once per model and family;
* ``worker``: one cell on a loaded model, saved (what both executors do per cell);
* ``ray_executor``: the study's graph as Ray tasks (``--executor ray``);
* ``run``: the loop over cells (or the Ray executor), then the report (``summeval.report``);
* ``compare``: ``summeval compare``'s arguments as a plan of one model, one family and a cell per
  strategy, which ``run`` runs like any other (same cache, same report).
"""
