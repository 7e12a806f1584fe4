"""The reports of ``summeval study`` and ``summeval compare``, built from per-item scores.

One module per job:

* ``document``: the document model (headings, paragraphs, lists, figures, tables) and its two
  renderers, Markdown and one self-contained HTML page;
* ``analysis``: each metric's mean and 95% interval, the paired comparisons with Holm's correction;
* ``tables``, ``charts``, ``provenance``: the parts of a study report; ``items``: its item-level views
  (each cell's items, each comparison's changed items side by side, the items every cell gets wrong);
* ``study``: a study's report from its saved cells (compare's too: it runs as a one-model study).

Import each name from its module (``from summeval.report.study import write_study_report``); this
package re-exports nothing.
"""
