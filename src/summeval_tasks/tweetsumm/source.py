"""TweetSumm data: raw sources -> parsed dialogs -> lm-eval docs.

Three sources, picked by ``tweetsumm_data`` (``--metadata '{"tweetsumm_data": VALUE}'`` or the
environment variable ``SUMMEVAL_TWEETSUMM_DATA``; the metadata wins):

* ``hub`` (default): the raw TweetSumm files of ``Salesforce/dialogstudio``, fetched with
  ``huggingface_hub`` and parsed here (``datasets`` no longer runs that repository's script).
* a local path: a DialogStudio JSON file with all splits (keys ``TweetSumm--<split>--<n>``), a
  folder of per-split files, or TweetSumm's own processed JSON / JSONL (a list of
  ``{"dialog": ..., "summaries": ...}``) in per-split files named after their split.
* ``sample``: a small TweetSumm-style set written by the summeval authors, shipped in the package.

Every source yields the splits ``train``, ``validation`` and ``test`` of ``Dialog`` records
(``summeval_tasks.tweetsumm.dialogs``: the record, its doc, and the parsers of one DialogStudio or
processed record).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from summeval_tasks.tweetsumm.dialogs import (
    Dialog,
    TweetSummDataError,
    parse_dialogstudio_record,
    parse_processed_record,
)
from summeval_tasks.util.files import folder_written_atomically
from summeval_tasks.util.hub import hub_offline, hub_unreachable_reason
from summeval_tasks.util.source_files import read_utf8_text

SPLITS = ("train", "validation", "test")
SOURCE_ENV = "SUMMEVAL_TWEETSUMM_DATA"
SOURCE_KEY = "tweetsumm_data"
HUB_REPO = "Salesforce/dialogstudio"
SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "tweetsumm_sample.json"
SOURCE_CHOICES = (
    "'hub' (Salesforce/dialogstudio, needs the Hugging Face Hub), 'sample' (the small set "
    "shipped with summeval, works offline), or a local path (a DialogStudio JSON file, a folder "
    "of per-split files, or TweetSumm's processed JSON/JSONL)"
)

_SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
}
_DIALOGSTUDIO_KEY = re.compile(r"^TweetSumm--(?P<split>[A-Za-z]+)--(?P<n>\d+)$")


# ----------------------------------------------------------------------------- file formats


def split_name(name: str) -> str | None:
    """Map a split spelling or a file name (``final_valid_tweetsum.jsonl``) to a split, or None."""
    stem = name.lower()
    if stem in _SPLIT_ALIASES:
        return _SPLIT_ALIASES[stem]
    for word in re.split(r"[^a-z]+", stem):
        if word in _SPLIT_ALIASES:
            return _SPLIT_ALIASES[word]
    return None


def _read_json_or_jsonl(path: Path) -> Any:
    text = read_utf8_text(path, TweetSummDataError, "tweetsumm", "JSON or JSONL")
    try:
        return json.loads(text)
    except json.JSONDecodeError as whole_err:
        records = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                if path.suffix == ".json":
                    raise TweetSummDataError(
                        f"tweetsumm: {path} is not valid JSON: {whole_err}"
                    ) from whole_err
                raise TweetSummDataError(
                    f"tweetsumm: line {line_no} of {path} is not valid JSON: {err.msg}"
                ) from err
        return records


def _is_dialogstudio(data: Any) -> bool:
    return isinstance(data, Mapping) and any(_DIALOGSTUDIO_KEY.match(str(k)) for k in data)


def parse_file(path: Path, split: str | None = None) -> dict[str, list[Dialog]]:
    """Parse one file into ``{split: [Dialog, ...]}``.

    A DialogStudio file carries its splits in its keys; a processed TweetSumm file holds one
    split, taken from ``split`` or else from the file name.
    """
    data = _read_json_or_jsonl(path)
    if _is_dialogstudio(data):
        out: dict[str, list[Dialog]] = {}
        for key, record in data.items():
            match = _DIALOGSTUDIO_KEY.match(str(key))
            if not match:
                raise TweetSummDataError(
                    f"tweetsumm: key {str(key)!r} in {path} is not a DialogStudio record key; every key of a "
                    "DialogStudio file is TweetSumm--<split>--<n>, e.g. TweetSumm--test--4"
                )
            key_split = split_name(match["split"])
            if key_split is None:
                raise TweetSummDataError(
                    f"tweetsumm: record {key} in {path} names an unknown split "
                    f"{match['split']!r}; expected one of train, validation (val, valid), test"
                )
            out.setdefault(key_split, []).append(parse_dialogstudio_record(record, str(path), key))
        return out
    if isinstance(data, Mapping) and "dialog" in data:
        data = [data]  # a one-record file
    if isinstance(data, list):
        file_split = split or split_name(path.stem)
        if file_split is None:
            raise TweetSummDataError(
                f"tweetsumm: {path} holds one split of TweetSumm's processed form, but its name "
                "does not say which: name it train / validation (val, valid) / test, "
                "e.g. test.jsonl, or put a DialogStudio file with all splits"
            )
        return {file_split: [parse_processed_record(r, str(path), i) for i, r in enumerate(data)]}
    raise TweetSummDataError(
        f"tweetsumm: {path} is neither a DialogStudio TweetSumm file (an object keyed "
        "'TweetSumm--<split>--<n>') nor TweetSumm's processed form (a list of "
        "{'dialog': ..., 'summaries': ...})"
    )


def _merge(into: dict[str, list[Dialog]], more: Mapping[str, list[Dialog]]) -> None:
    for split, dialogs in more.items():
        into.setdefault(split, []).extend(dialogs)


def _data_files(folder: Path) -> Iterator[Path]:
    """JSON / JSONL files below ``folder``, skipping hidden ones (``.ipynb_checkpoints``, ...).

    A sub-folder that cannot be read is an error naming it, never silently skipped."""

    def unreadable(err: OSError) -> None:
        raise TweetSummDataError(f"tweetsumm: cannot read the folder {err.filename}: {err.strerror}") from err

    found = []
    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root) / name
            if not name.startswith(".") and path.suffix.lower() in (".json", ".jsonl"):
                found.append(path)
    yield from sorted(found)


def parse_files(files: Iterable[Path], origin: Path | str) -> dict[str, list[Dialog]]:
    """Parse data files into ``{split: [Dialog, ...]}`` and check all three splits are there."""
    dialogs: dict[str, list[Dialog]] = {}
    seen: dict[str, str] = {}
    for file in files:
        parsed = parse_file(file)
        for split, items in parsed.items():
            for dialog in items:
                if dialog.dialog_id in seen:
                    raise TweetSummDataError(
                        f"tweetsumm: dialog {dialog.dialog_id} appears twice in {origin} "
                        f"({seen[dialog.dialog_id]} and {split} split of {file}); a dialog must be in "
                        "one split once, or the test set leaks into the exemplars"
                    )
                seen[dialog.dialog_id] = f"{split} split of {file}"
        _merge(dialogs, parsed)
    missing = [s for s in SPLITS if not dialogs.get(s)]
    if missing:
        found = ", ".join(f"{s} ({len(d)})" for s, d in dialogs.items()) or "none"
        raise TweetSummDataError(
            f"tweetsumm: {origin} lacks the split(s) {', '.join(missing)}; found {found}. "
            "A source must provide train, validation and test"
        )
    return dialogs


def parse_path(path: str | os.PathLike) -> dict[str, list[Dialog]]:
    """Parse a local file or folder into ``{split: [Dialog, ...]}`` with all three splits."""
    path = Path(path).expanduser()
    if not path.exists():
        raise TweetSummDataError(f"tweetsumm: data path {path} does not exist; choose {SOURCE_CHOICES}")
    if not path.is_dir():
        return parse_files([path], path)
    files = list(_data_files(path))
    if not files:
        raise TweetSummDataError(f"tweetsumm: folder {path} holds no .json or .jsonl files")
    return parse_files(files, path)


# ----------------------------------------------------------------------------- the hub


def _is_hub_data_file(repo_path: str) -> bool:
    """A TweetSumm split file (``.../TweetSumm/train.json``) or archive in the DialogStudio repo.

    Example files (``converted_examples.json``) and other metadata are not data: skipped.
    """
    lowered = repo_path.lower()
    if "tweetsumm" not in lowered:
        return False
    name = lowered.rsplit("/", 1)[-1]
    if name.endswith(".zip"):
        return True
    return name.endswith((".json", ".jsonl")) and split_name(name.rsplit(".", 1)[0]) is not None


def download_hub(cache_dir: str | None = None) -> list[Path]:
    """Fetch the raw TweetSumm files of ``Salesforce/dialogstudio``; return the local JSON files.

    Zip archives among them are unpacked beside the download (write, then rename).

    Fails fast, naming the other sources, when the Hub cannot be reached.
    """
    import zipfile

    from huggingface_hub import hf_hub_download, list_repo_files

    offline_hint = (
        f"tweetsumm: cannot fetch {HUB_REPO} from the Hugging Face Hub ({{reason}}). "
        f"Choose another source with --metadata '{{{{\"{SOURCE_KEY}\": VALUE}}}}' or "
        f"{SOURCE_ENV}=VALUE, where VALUE is {SOURCE_CHOICES}."
    )
    if hub_offline():
        raise TweetSummDataError(offline_hint.format(reason="HF_HUB_OFFLINE is set"))
    unreachable = hub_unreachable_reason()
    if unreachable:
        raise TweetSummDataError(offline_hint.format(reason=unreachable))
    try:
        files = [f for f in list_repo_files(HUB_REPO, repo_type="dataset") if _is_hub_data_file(f)]
        if not files:
            raise TweetSummDataError(f"tweetsumm: {HUB_REPO} lists no TweetSumm files")
        local = [Path(hf_hub_download(HUB_REPO, f, repo_type="dataset", cache_dir=cache_dir)) for f in files]
    except TweetSummDataError:
        raise
    except Exception as err:  # any network or Hub failure: say what to do instead
        raise TweetSummDataError(offline_hint.format(reason=f"{type(err).__name__}: {err}")) from err
    data_files = [p for p in local if p.suffix != ".zip"]
    for archive in (p for p in local if p.suffix == ".zip"):
        target = archive.with_name(archive.stem + ".extracted")
        if not target.exists():
            # parallel ranks each unpack privately; the first complete copy wins
            with folder_written_atomically(target, keep_existing=Path.exists) as partial:
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(partial)
        extracted = list(_data_files(target))
        split_files = [p for p in extracted if split_name(p.stem) is not None]
        data_files.extend(split_files or extracted)
    return data_files


# ----------------------------------------------------------------------------- lm-eval entry points


def resolve_source(value: str | None = None) -> str:
    """The chosen source: ``value`` if given, else ``$SUMMEVAL_TWEETSUMM_DATA``, else ``hub``."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TweetSummDataError(
            f"tweetsumm: tweetsumm_data must be a string (a source name or a path), got "
            f"{type(value).__name__} {value!r}; choose {SOURCE_CHOICES}"
        )
    return str(value or os.environ.get(SOURCE_ENV) or "hub")


def load_dialogs(source: str | None = None) -> dict[str, list[Dialog]]:
    """Load ``{split: [Dialog, ...]}`` from ``hub``, ``sample`` or a local path."""
    source = resolve_source(source)
    if source == "sample":
        return parse_path(SAMPLE_PATH)
    if source == "hub":
        return parse_files(download_hub(), HUB_REPO)
    return parse_path(source)
