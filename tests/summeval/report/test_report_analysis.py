"""The report's sentences and tables say what the tests show: the unadjusted p, the Holm p, m and the
family; intervals labelled unadjusted; context (items, split, seed) beside every figure."""

from __future__ import annotations

import pytest
from support import SPORTS

from prompt_strategies.registry import get_strategy
from summeval.report.analysis import FAMILY, verdict
from summeval.report.tables import comparisons_table, items_text
from summeval.study.plan import Cell

ANSWER_ONLY = get_strategy("answer_only")


def result(p: float, p_adjusted: float, m: int = 11, **changes) -> dict:
    base = {
        "label": "zero vs one",
        "a": "m/zero",
        "b": "m/one",
        "metric": "rouge1",
        "higher_is_better": True,
        "test": "paired permutation",
        "n": 8,
        "mean_a": 0.20,
        "mean_b": 0.25,
        "difference": 0.05,
        "ci_low": 0.01,
        "ci_high": 0.09,
        "p_value": p,
        "b_better": 6,
        "a_better": 2,
        "p_adjusted": p_adjusted,
        "m": m,
        "family": FAMILY,
        "significant": p_adjusted < 0.05,
    }
    return {**base, **changes}


def test_a_significant_verdict_gives_both_p_values_m_and_the_unadjusted_interval():
    text = verdict(result(0.001, 0.011))
    assert text == (
        "zero vs one: significant at 5% after Holm's correction (p = 0.001 unadjusted, Holm p = 0.011 over "
        "m = 11 tests, n = 8): m/one scores higher rouge1 than m/zero by 0.050 (unadjusted 95% "
        "interval of B − A [+0.010, +0.090])."
    )


def test_a_difference_significant_only_before_correction_says_so():
    text = verdict(result(0.02, 0.2))
    assert text.startswith(
        "zero vs one: not significant after Holm's correction (p = 0.02 unadjusted, Holm p"
    )
    assert "could be chance once the 11 tests are accounted for, although it is below 5% alone" in text
    assert "unadjusted 95% interval of B − A [+0.010, +0.090]" in text


def test_a_difference_not_significant_even_alone_says_sample_size():
    text = verdict(result(0.3, 1.0, ci_low=-0.02))
    assert "could be chance at this sample size (unadjusted 95% interval of B − A [-0.020, +0.090])" in text


def test_the_comparisons_table_labels_its_intervals_unadjusted_and_names_m_and_the_family():
    table = comparisons_table([result(0.001, 0.003, m=3), result(0.2, 0.4, m=3), result(0.5, 0.5, m=3)])
    assert "B − A [95%, unadjusted]" in table.header and "p (unadjusted)" in table.header
    assert "Holm p (m = 3)" in table.header and "significant at 5% after Holm" in table.header
    assert any("family of all m = 3 tests" in note for note in table.notes)


@pytest.mark.parametrize(
    ("cell", "n", "size", "expected"),
    [
        (Cell("m", "t", SPORTS, ANSWER_ONLY, None, 25), 25, 185, "25 of 185 validation, seeded sample"),
        (Cell("m", "t", SPORTS, ANSWER_ONLY, 3), 3, 185, "3 of 185 validation, the first 3"),
        (Cell("m", "t", SPORTS, ANSWER_ONLY, None), 185, 185, "185 of 185 validation, all"),
        (Cell("m", "t", SPORTS, ANSWER_ONLY, None), 8, None, "8 of validation, all"),
    ],
)
def test_items_say_how_many_of_which_split_and_how_they_were_chosen(cell, n, size, expected):
    assert items_text(cell, n, "validation", size) == expected


# ----------------------------------------------------------------------------- text from data in Markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click me](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "see <javascript:alert(1)>",
    "line one\n[ref]: javascript:alert(1)\nand [ref]",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_configs_text_is_neither_html_nor_a_link_in_markdown(payload, tmp_path):
    """A study config's description, labels and names reach report.md as text: no raw HTML and no link
    (report.html escapes them too); rendered by markdown-it (CommonMark), as GitHub and MkDocs would."""
    from markdown_it import MarkdownIt

    from summeval.report.document import Bullets, Document, Heading, Paragraph, Table, to_markdown

    document = Document(f"Study: {payload}").add(
        Paragraph(payload),
        Paragraph(payload, strong=True),
        Heading(payload),
        Bullets([payload]),
        Table(payload, ["comparison", "p"], [[payload, "0.5"]], notes=[payload]),
    )
    renderer = MarkdownIt("commonmark")
    renderer.validateLink = lambda url: True  # a renderer that trusts links (markdown-it drops javascript:)
    rendered = renderer.render(to_markdown(document, tmp_path))
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered, rendered


def test_summevals_own_markdown_is_unchanged_by_the_escaping():
    from summeval.report.document import md

    for text in ["acc [95%]", "B − A [95%, unadjusted]", "R&D: p = 0.03 (Holm, m = 3)", "**bold** and _x_"]:
        assert md(text) == text


# ----------------------------------------------------------------------------- power beside each comparison


def test_the_verdict_and_the_table_say_what_the_comparison_could_detect_and_the_items_it_needs():
    from summeval.power import power_of

    power = power_of(
        [0.20, 0.31, 0.18, 0.25, 0.22, 0.30, 0.19, 0.27],
        [0.26, 0.30, 0.25, 0.31, 0.22, 0.36, 0.21, 0.33],
        False,
        m=11,
    )
    text = verdict(result(0.02, 0.2, power=power.to_dict()))
    assert (
        f"At n = 8 it detects with 80% power a true difference of {power.detectable_holm:.3f} after Holm's"
        in text
    )
    assert f"({power.detectable:.3f} alone)" in text
    assert (
        f"about {power.items_needed_holm:,} items would detect the observed 0.050 after Holm's correction"
        in text
    )
    table = comparisons_table([result(0.02, 0.2, power=power.to_dict())])
    assert table.header[-2:] == [
        "detectable at 80% power: Holm / alone",
        "items for the observed B − A: Holm / alone",
    ]
    assert table.rows[0][-2] == f"{power.detectable_holm:.3f} / {power.detectable:.3f}"
    assert table.rows[0][-1] == f"{power.items_needed_holm:,} / {power.items_needed:,}"


def test_a_comparison_with_nothing_detectable_says_why():
    from summeval.power import power_of

    power = power_of([1, 0, 1, 1, 0, 1, 0, 1], [1, 1, 1, 1, 0, 0, 1, 1], True, m=6)
    text = verdict(result(0.6, 1.0, metric="acc", power=power.to_dict()))
    assert "At n = 8 no difference is detectable with 80% power (only 3 of the 8 items differ" in text
    assert comparisons_table([result(0.6, 1.0, power=power.to_dict())]).rows[0][-2] == "—"


# ---------------------------------------------------------------------------- equivalence, Benjamini-Hochberg


def test_an_equivalence_margin_and_bh_flow_through_to_the_verdict_and_the_table(tmp_path):
    import random

    import yaml

    from summeval.report.analysis import comparison_results
    from summeval.stats import benjamini_hochberg
    from summeval.study.config import load_study

    tree = {
        "name": "equivalence",
        "correction": "bh",
        "models": {"base": {"pretrained": "embedded"}},
        "evaluations": [{"model": "base", "tasks": ["tweetsumm_zero", "tweetsumm_one"]}],
        "comparisons": [
            {
                "label": "zero vs one",
                "a": "base/tweetsumm_zero",
                "b": "base/tweetsumm_one",
                "equivalence_margin": 0.05,
            }
        ],
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    rng = random.Random(1)
    items = [f"d{i}" for i in range(30)]
    a = [rng.uniform(0.2, 0.4) for _ in items]
    b = [x + rng.uniform(-0.01, 0.01) for x in a]
    records = {
        "base/tweetsumm_zero": {"items": items, "scores": {"rouge1": a}},
        "base/tweetsumm_one": {"items": items, "scores": {"rouge1": b}},
    }
    (compared,) = comparison_results(load_study(path), records)
    equivalence = compared["equivalence"]
    assert compared["m"] == 2 and compared["correction"] == "bh"  # the difference test and the TOST
    assert [compared["p_adjusted"], equivalence["p_adjusted"]] == pytest.approx(
        benjamini_hochberg([compared["p_value"], equivalence["p_value"]])
    )
    assert equivalence["equivalent"] and -0.05 < equivalence["ci90_low"] < equivalence["ci90_high"] < 0.05
    assert "after Benjamini-Hochberg's correction (p = " in compared["verdict"]
    assert (
        "Equivalence (two one-sided tests): equivalent within ±0.05 at 5% after Benjamini-Hochberg's"
        in (compared["verdict"])
    )
    table = comparisons_table([compared])
    assert "Benjamini-Hochberg p (m = 2)" in table.header
    assert table.header[-1] == "equivalent (TOST, after Benjamini-Hochberg)"
    assert table.rows[0][-1].startswith("yes (±0.05, adjusted p ")
    assert any("false discovery rate" in note for note in table.notes)
    assert any("No does not mean different" in note for note in table.notes)


# ---------------------------------------------------------------------------- a sampled cell at several seeds


def test_a_cell_at_several_seeds_is_reported_on_each_items_mean_over_the_seeds(tmp_path):
    import yaml

    from summeval.report.analysis import comparison_results
    from summeval.report.study import combined_over_seeds, widening
    from summeval.study.config import load_study

    tree = {
        "name": "seeds",
        "seeds": [1, 2, 3],
        "models": {"m": {"pretrained": "embedded"}},
        "evaluations": [
            {"model": "m", "family": "sports_understanding", "strategies": ["fewshot", "self_consistency"]}
        ],
        "comparisons": [
            {
                "label": "sc",
                "a": "m/sports_understanding_fewshot",
                "b": "m/sports_understanding_self_consistency",
            }
        ],
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    config = load_study(path)
    sc = "m/sports_understanding_self_consistency"

    def record(items, acc):
        return {
            "items": items,
            "n": len(items),
            "filter": "maj",
            "scores": {"acc": acc, "invalid": [0.0] * len(acc), "acc_two_stage": acc},
        }

    records = {
        "m/sports_understanding_fewshot": record(["a", "b", "c", "d"], [1.0, 0.0, 0.0, 1.0]),
        sc: record(["a", "b", "c", "d"], [1.0, 1.0, 0.0, 0.0]),
        f"{sc}@seed2": record(["a", "b", "c", "d"], [1.0, 0.0, 0.0, 1.0]),
        f"{sc}@seed3": record(["b", "a", "c"], [1.0, 1.0, 1.0]),  # item d missing: left out
    }
    combined = combined_over_seeds(config, records)
    assert list(combined) == [sc]
    merged = combined[sc]
    assert merged["items"] == ["a", "b", "c"] and merged["n"] == 3 and merged["seeds_combined"] == 3
    assert merged["scores"]["acc"] == pytest.approx([1.0, 2 / 3, 1 / 3])  # each item's mean over 3 seeds
    assert merged["first_seed_scores"]["acc"] == [1.0, 1.0, 0.0]
    # the paired test of a seed-combined cell runs on the item means: the exact sign-flip test (at most 16
    # items), not McNemar; with 3 items no outcome could reach 5%: 2 x 0.5**3
    (acc, _) = comparison_results(config, {**records, sc: merged})[:2]
    assert acc["test"] == "exact sign-flip" and acc["n"] == 3
    assert acc["smallest_p"] == pytest.approx(0.25) and acc["ci_low"] is None
    cell = config.cell(sc)
    from summeval.report.analysis import summaries

    clause = widening(cell, merged, summaries(cell, merged, 1), 1)
    assert clause.startswith("; interval over the 3 seeds ") and clause.endswith("× the first seed's width")
    assert combined_over_seeds(config, {k: v for k, v in records.items() if "@" not in k}) == {}
