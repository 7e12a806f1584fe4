"""The adapter base check inside lm-eval: ``HFLM._create_model`` checks a ``peft=`` adapter against
``pretrained=`` (``summeval.training.adapters.check_base_matches``) before any weights load."""

from __future__ import annotations

from typing import Any

from summeval.training.adapters import check_base_matches


def patch_hflm(module: Any) -> None:
    """Wrap lm-eval's ``HFLM._create_model`` so a ``peft=`` adapter is checked before loading."""
    import functools

    hflm = module.HFLM
    if getattr(hflm, "_summeval_peft_check", False):
        return
    original = hflm._create_model

    @functools.wraps(original)
    def _create_model(self, pretrained, *args, **kwargs):
        peft = kwargs.get("peft")
        if peft and isinstance(pretrained, str):
            check_base_matches(peft, pretrained, kwargs.get("revision"))
        return original(self, pretrained, *args, **kwargs)

    hflm._create_model = _create_model
    hflm._summeval_peft_check = True
