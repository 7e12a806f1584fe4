"""The study report's HTML page, opened in headless Chromium at 1280 px: nothing overflows, significant
rows carry a visible mark, the forest plot and the per-sample view are in the one file, which loads
nothing from the network. Built from the report's own renderers (no model needed)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from support import SPORTS, TWEETSUMM
from support_report import WIDTH, assert_no_network, measure


def comparison(
    label: str, difference: float, low: float | None, high: float | None, significant: bool
) -> dict:
    return {
        "label": label,
        "a": "stablelm-3b-4e1t-qlora-r16/sports_understanding_cot_fewshot_with_worked_rationales",
        "b": "stablelm-3b-4e1t-qlora-r32/sports_understanding_self_consistency_majority_of_ten",
        "metric": "acc",
        "n": 185,
        "mean_a": 0.5,
        "mean_b": 0.5 + difference,
        "difference": difference,
        "ci_low": low,
        "ci_high": high,
        "b_better": 30,
        "a_better": 12,
        "test": "exact McNemar",
        "p_value": 0.0003 if significant else 0.4,
        "p_adjusted": 0.003 if significant else 1.0,
        "significant": significant,
        "verdict": "",
    }


def sample_rows_of(family_name: str, n: int) -> tuple:
    """``n`` per-sample rows of ``family_name`` and the family (sports: plausible, implausible and invalid
    answers in turn; one long prompt and one long output)."""
    from prompt_strategies.registry import get_family
    from summeval.lm_eval.samples import SampleRow

    family = get_family(family_name)
    rows = []
    if family_name == "sports_understanding":
        answers = ["plausible", "implausible", "invalid"]
        for i in range(n):
            answer = answers[i % 3]
            rows.append(
                SampleRow(
                    id=f"s{i}",
                    prompt="Q: " + "Determine whether ... " * (60 if i == 0 else 1),
                    target="plausible",
                    model_output=f"So the answer is {answer}." + "x" * (400 if i == 1 else 0),
                    answer=answer,
                    two_stage_answer="",
                    scores={"acc": float(answer == "plausible"), "invalid": float(answer == "invalid")},
                )
            )
    else:
        for i in range(n):
            scores = {"rouge1": 0.3, "rouge2": 0.1, "rougeL": 0.2, "rougeLsum": 0.2}
            rows.append(
                SampleRow(f"d{i}", "Customer: hi\nAgent: hello", "ref", "a summary", "a summary", "", scores)
            )
    return family, rows


@pytest.fixture
def page(tmp_path):
    """A report page as ``write_study_report`` builds it: long names, a wide comparisons table (one row
    significant, one without an interval), the forest plot and two per-sample views."""
    from summeval.report.charts import write_forest
    from summeval.report.document import REPORT_CSS, Document, Figures, Heading, Table, to_html, to_markdown
    from summeval.report.items import item_diff, sample_view
    from summeval.report.tables import comparisons_table

    _, a_rows = sample_rows_of("sports_understanding", 9)
    b_rows = [
        dataclasses.replace(row, answer="plausible", scores={"acc": 1.0, "invalid": 0.0}) for row in a_rows
    ]
    b_rows[0] = dataclasses.replace(b_rows[0], model_output="So " + "unbroken" * 80)  # one long word

    results = [
        comparison("CoT with exemplars vs self-consistency (K=10, majority vote)", 0.16, 0.09, 0.23, True),
        comparison("r16 vs r32 on the worked-rationale few-shot chain of thought", 0.02, -0.05, 0.09, False),
        comparison("n too small", 0.0, None, None, False),
    ]
    table = comparisons_table(results[:2])
    forest = write_forest(results, tmp_path / "charts" / "forest.png")
    wide = Table(
        "wide results",
        [
            "model",
            "task",
            "filter",
            "n",
            *(f"rouge{x} [95%]" for x in ("1", "2", "L", "Lsum")),
            "published: r1",
        ],
        [
            [
                "stablelm-3b-4e1t-qlora-r32-alpha8",
                "tweetsumm_instruct_after_finetuning",
                "summeval_consensus",
                "110",
                *["0.433 [0.401, 0.462]"] * 4,
                "0.433",
            ]
        ]
        * 3,
        text_columns=3,
    )
    document = Document("Study: page").add(
        Heading("Which differences are real"),
        table,
        wide,
        Figures([("forest", forest)]),
        Heading("Per-sample outputs"),
        sample_view(
            "base/sports_understanding_cot",
            *sample_rows_of("sports_understanding", 9),
            "samples/base__sports_understanding_cot.csv",
        ),
        sample_view(
            "base/tweetsumm_zero", *sample_rows_of("tweetsumm", 4), "samples/base__tweetsumm_zero.csv"
        ),
        Heading("A against B, item by item"),
        item_diff(results[0], {results[0]["a"]: a_rows, results[0]["b"]: b_rows}),
    )
    html_text = to_html(document, REPORT_CSS)
    return html_text, to_markdown(document, tmp_path), forest


def test_nothing_overflows_at_1280_px_and_p_holm_p_and_verdict_are_visible(page, tmp_path):
    html_text, _, _ = page
    measured = measure(html_text, tmp_path)
    assert measured["innerWidth"] == WIDTH
    assert measured["scrollWidth"] <= measured["innerWidth"], measured
    assert measured["keys"] == 6 and measured["keysVisible"] == 6, measured


def test_significant_rows_carry_a_visible_mark_not_colour_alone(page):
    html_text, markdown, _ = page
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html_text)
    marked = [r for r in rows if 'class="significant"' in r]
    assert len(marked) == 1 and "CoT with exemplars" in marked[0] and "\u2605" in marked[0]
    assert not any("\u2605" in r for r in rows if r not in marked)
    assert (
        "marks a row significant after the study" in html_text
        and "correction (named in its table)" in html_text
    )
    assert "| yes |" in markdown and "| no |" in markdown


def test_the_forest_plot_has_a_row_per_comparison_with_an_interval(page, tmp_path):
    from PIL import Image

    from summeval.report.charts import write_forest

    _, _, forest = page
    image = Image.open(forest).convert("RGB")
    width, height = image.size
    assert image.getpixel((0, 0)) == (255, 255, 255)
    # the significant one is drawn red (#C44E52), the others blue (#4C72B0)
    colours = image.getcolors(maxcolors=1 << 20)

    def near(rgb):
        return sum(c for c, px in colours if max(abs(a - b) for a, b in zip(px, rgb, strict=True)) < 20)

    assert near((196, 78, 82)) > 30 and near((76, 114, 176)) > 30
    # the row without an interval is left out: two rows are as tall as a plot of the two alone
    two = write_forest(
        [comparison("a", 0.1, 0.0, 0.2, True), comparison("b", 0.0, -0.1, 0.1, False)],
        tmp_path / "two.png",
    )
    three = write_forest(
        [comparison(x, 0.0, -0.1, 0.1, False) for x in "abc"],
        tmp_path / "three.png",
    )
    assert Image.open(two).size[1] == height < Image.open(three).size[1]
    assert write_forest([comparison("none", 0.0, None, None, False)], tmp_path / "none.png") is None


def test_rouge_is_drawn_on_an_axis_scaled_to_its_intervals():
    from summeval.report.charts import data_limits

    low, high = data_limits([0.281, 0.320], [0.33, 0.36])
    assert 0.27 <= low < 0.281 and 0.36 < high <= 0.37
    assert data_limits([0.0], [0.999]) == (0.0, 1.0)


def test_the_per_sample_view_filters_by_status_in_the_one_file(page, tmp_path):
    html_text, markdown, _ = page
    assert html_text.count("<details class=samples>") == 2
    assert "correct (3)" in html_text and "wrong (3)" in html_text and "invalid (3)" in html_text
    assert "scored (4)" in html_text
    # a long prompt shows its end, the full text in the same element
    assert f"{len('Q: ' + 'Determine whether ... ' * 60)} characters; the end:" in html_text
    assert "Determine whether ... " * 60 in html_text
    assert_no_network(html_text)
    # the filter works without a script: choosing "wrong" in the first view leaves its 3 wrong items
    opened = "<script>document.querySelectorAll('details').forEach(d => d.open = true);</script>"
    assert measure(html_text, tmp_path, extra_js=opened)["shown"] == 13
    choose = opened + "<script>document.getElementById('s1-wrong').checked = true;</script>"
    assert measure(html_text, tmp_path, extra_js=choose)["shown"] == 3 + 4
    # Markdown links each view to its CSV, with the counts
    assert (
        "- [base/sports_understanding_cot](samples/base__sports_understanding_cot.csv): 9 items" in markdown
    )


def test_a_view_shows_at_most_its_limit_and_says_so():
    from summeval.report.items import sample_view

    view = sample_view("x", *sample_rows_of("sports_understanding", 12), "samples/x.csv")
    view.limit = 5
    text = view.html(1)
    assert text.count('<div class="item') == 5
    assert "The first 5 of 12 items are shown; all are in samples/x.csv." in text


def test_the_diff_view_shows_a_comparisons_flipped_items_with_a_and_b_side_by_side(page, tmp_path):
    html_text, markdown, _ = page
    # B reads "plausible" everywhere: right where A was wrong or invalid (6 of 9), never the other way
    assert "B right, A wrong: 6; A right, B wrong: 0" in html_text
    assert "B right, A wrong (6)" in html_text and "A right, B wrong (0)" in html_text
    assert (
        "- CoT with exemplars vs self-consistency (K=10, majority vote) (acc, 9 items): "
        "B right, A wrong: 6 (s1, s2" in markdown
    )
    opened = "<script>document.querySelectorAll('details').forEach(d => d.open = true);</script>"
    measured = measure(html_text, tmp_path, extra_js=opened)
    assert measured["sides"] == [1] * 6, measured  # A left, B right, inside the 1280 px window
    assert measured["scrollWidth"] <= measured["innerWidth"], measured
    assert_no_network(html_text)


def test_the_diff_view_of_rouge_shows_the_largest_differences_first():
    from summeval.lm_eval.samples import SampleRow
    from summeval.report.items import LARGEST, item_diff

    def rows(values):
        return [
            SampleRow(f"d{i}", "dialog", "ref", "out", "out", "", {"rouge1": v}) for i, v in enumerate(values)
        ]

    a = rows([0.3] * 14)
    b = rows([0.3, 0.5, 0.1, 0.3, 0.35, *[0.31] * 9])
    diff = item_diff({"label": "x", "a": "A", "b": "B", "metric": "rouge1"}, {"A": a, "B": b})
    ((name, items),) = diff.groups
    assert name == "largest |B − A| in rouge1 first (12 of 14 items differ)"
    assert [i.id for i in items][:3] == ["d1", "d2", "d4"] and len(items) == LARGEST
    assert (items[0].a.score, items[0].b.score) == ("0.300000", "0.500000")


def test_items_every_cell_of_a_family_gets_wrong_are_listed_with_each_cells_answer(tmp_path):
    import yaml

    from summeval.lm_eval.samples import SampleRow
    from summeval.report.items import wrong_everywhere
    from summeval.study.config import load_study

    tree = {
        "name": "wrong",
        "models": {"m": {"pretrained": "embedded"}},
        "evaluations": [
            {"model": "m", "family": "sports_understanding", "strategies": ["answer_only", "cot"]},
            {"model": "m", "tasks": ["tweetsumm_zero"]},
        ],
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    config = load_study(path)

    def rows(accs, answer):
        return [
            SampleRow(f"s{i}", f"statement {i}", "plausible", "out", answer, "", {"acc": a, "invalid": 0.0})
            for i, a in enumerate(accs)
        ]

    by_cell = {
        "m/sports_understanding_answer_only": rows([0, 1, 0, 0], "implausible"),
        "m/sports_understanding_cot": rows([0, 0, 1], ""),  # scored 3 items only
    }
    view = wrong_everywhere(SPORTS, config, by_cell)
    assert [item.id for item in view.items] == ["s0"]  # s2: right in cot; s3: not scored by cot
    assert view.items[0].output == (
        "m/sports_understanding_answer_only: implausible\nm/sports_understanding_cot: (none read)"
    )
    assert (
        view.title
        == "sports_understanding: wrong in every one of its 2 cells (1 of the 3 items they all scored)"
    )
    assert view.markdown() == f"- {view.title}: s0\n"
    assert wrong_everywhere(TWEETSUMM, config, by_cell) is None  # no right or wrong
    assert (
        wrong_everywhere(
            SPORTS, config, {"m/sports_understanding_cot": by_cell["m/sports_understanding_cot"]}
        )
        is None
    )


def test_the_per_sample_view_marks_outputs_cut_by_max_gen_toks():
    from summeval.report.items import sample_view

    family, rows = sample_rows_of("sports_understanding", 4)
    view = sample_view("x", family, rows, "samples/x.csv", {"s0": 1.0, "s1": 0.0, "s2": 0.4, "s3": None})
    page = view.html(1)
    assert page.count("cut at max_gen_toks") == 2
    assert "<span class=cut>cut at max_gen_toks</span>" in page  # s0: its one output
    assert "<span class=cut>40% of its outputs cut at max_gen_toks</span>" in page  # s2: 2 of 5 samples


def test_the_results_table_gives_each_cells_share_cut_by_max_gen_toks():
    from summeval.report.tables import truncated_text

    assert truncated_text({"truncated": [1.0, 0.0, 0.5, 0.0]}) == "0.38 (2 of 4 items)"
    assert truncated_text({"truncated": [None, None]}) == "—"
    assert truncated_text({}) == "—"  # a cell saved before truncation was measured


def test_the_results_table_gives_the_samples_a_stopping_rule_drew():
    from summeval.report.tables import drawn_text

    record = {"samples_drawn": [5, 5, 20, 10], "lm_eval": {"config": {"repeats": 20}}}
    assert drawn_text(record) == "10.0 (5–20 of 20)"
    assert drawn_text({"lm_eval": {"config": {"repeats": 20}}}) == "20"  # fixed K: every sample
    assert drawn_text({"lm_eval": {"config": {}}}) == "1"  # greedy
