"""Plain helpers shared by the tests (not fixtures: those are in conftest.py): the repository's paths,
the offline environment for subprocesses, the real ``lm_eval`` command and its results, tiny random models.

Importable from any test folder (``pythonpath = ["tests"]`` in pyproject.toml): ``from support import ...``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from summeval_tasks.sports.family import SPORTS_UNDERSTANDING
from summeval_tasks.tweetsumm.family import TWEETSUMM

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"  # also where the plugin examples live (family_plugin_example.py, ...)
DATA = TESTS / "data"  # shared test data (see data/README.md)
SPORTS = SPORTS_UNDERSTANDING  # the built-in families, as the registry gives them; TWEETSUMM is imported
RECIPE = str(REPO / "adapters" / "tweetsumm-r16.yaml")  # the seed's r=16 adapter recipe
ROUGE = list(TWEETSUMM.reported_metrics)  # rouge1, rouge2, rougeL, rougeLsum
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"  # the first bytes of every PNG file


def offline_env(**extra: str) -> dict[str, str]:
    """The environment for subprocesses: no hub, no telemetry, quiet tokenizers."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    env.pop(  # a developer's own switch must not change what the tests see
        "SUMMEVAL_NO_AUTOREGISTER", None
    )
    env.update(extra)
    return env


def lm_eval_command() -> list[str]:
    """The installed ``lm_eval`` console script beside this interpreter."""
    return [str(Path(sys.executable).with_name("lm_eval"))]


def run_lm_eval(args: list[str], env: dict[str, str] | None = None, timeout: int = 900):
    """Run the real ``lm_eval`` command; fail with its output when it fails."""
    proc = subprocess.run(
        lm_eval_command() + args,
        capture_output=True,
        text=True,
        env=env or offline_env(),
        timeout=timeout,
        cwd=REPO,
    )
    assert proc.returncode == 0, f"lm_eval failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def adapter_results(base: Path, adapter: Path, out: Path) -> dict:
    """lm-eval's results of ``tweetsumm_instruct`` (2 sample dialogs, 4 tokens) on ``base`` with the LoRA
    ``adapter`` loaded through ``peft=``: the adapter loads and scores."""
    run_lm_eval(
        ["--model", "hf", "--model_args", f"pretrained={base},peft={adapter}",
         "--tasks", "tweetsumm_instruct", "--metadata", '{"tweetsumm_data": "sample"}', "--limit", "2",
         "--gen_kwargs", "max_gen_toks=4", "--output_path", str(out)]
    )  # fmt: skip
    return read_results(out)["tweetsumm_instruct"]


def read_results(output_dir: Path) -> dict:
    """The ``results`` dict of the one results JSON that lm_eval wrote under ``output_dir``."""
    found = sorted(output_dir.rglob("results_*.json"))
    assert found, f"lm_eval wrote no results file under {output_dir}"
    return json.loads(found[-1].read_text())["results"]


def word_level_tokenizer(specials: list[str]):
    """A whitespace word-level tokenizer over the TweetSumm sample's words, ``specials`` first."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    from summeval_tasks.tweetsumm.source import SAMPLE_PATH

    words = sorted(set(re.findall(r"\w+|[^\w\s]", SAMPLE_PATH.read_text(encoding="utf-8"))))
    vocab = {token: i for i, token in enumerate(specials + words)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer


def save_random_model(model_class, config, tokenizer, out: Path) -> Path:
    """Initialise ``model_class(config)`` with a fixed seed and save it with ``tokenizer`` to ``out``."""
    import torch

    torch.manual_seed(0)
    model_class(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_tiny_llama(out: Path) -> Path:
    """Save a randomly initialised 2-layer llama with a word-level tokenizer (sample-data words)."""
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = word_level_tokenizer(["<unk>", "<s>", "</s>", "<pad>"])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
    )
    config = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    return save_random_model(LlamaForCausalLM, config, fast, out)


def build_tiny_t5(out: Path) -> Path:
    """Save a randomly initialised 2-layer T5 with a word-level tokenizer (sample-data words).

    T5's own sentencepiece tokenizer cannot be downloaded here; like T5's, this one appends ``</s>``.
    """
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    # T5's ids: pad 0 (also the decoder start), eos 1
    tokenizer = word_level_tokenizer(["<pad>", "</s>", "<unk>"])
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", eos_token="</s>", pad_token="<pad>"
    )
    config = T5Config(
        vocab_size=tokenizer.get_vocab_size(),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return save_random_model(T5ForConditionalGeneration, config, fast, out)
