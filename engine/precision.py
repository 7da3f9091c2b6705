"""Which reduced precision a device runs fast: bf16 on CUDA, and on CPUs with native bf16
(AVX512-BF16 / AMX, through oneDNN) where matrix products run several times faster than fp32."""

from __future__ import annotations

import torch


def cpu_has_fast_bf16() -> bool:
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def transformer_dtype(device: torch.device, allow_cpu_bf16: bool = True) -> torch.dtype | None:
    """Autocast dtype for the transformer on `device` (None: plain fp32)."""
    if device.type == "cuda":
        return torch.bfloat16
    if device.type == "cpu" and allow_cpu_bf16 and cpu_has_fast_bf16():
        return torch.bfloat16
    return None
