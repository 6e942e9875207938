"""A peft LoRA adapter as a GGUF LoRA adapter that llama.cpp loads at run time.

The adapter is trained (``fastapply.train.lora``) on the Hugging Face layout of the model
that transformers dequantizes from the base GGUF. llama.cpp applies a GGUF adapter as
``W x + scale * B (A x)`` with ``scale = adapter_scale * alpha / rank`` (``rank`` read
from each B tensor), on the base's own tensors; so the export is a renaming plus two
layout details:

* names: ``model.layers.N.self_attn.q_proj`` -> ``blk.N.attn_q.weight`` and so on, with
  ``.lora_a`` / ``.lora_b`` appended. peft's A is ``[r, in]`` and B ``[out, r]`` (numpy
  order); GGUF reverses dimensions, so llama.cpp sees ``a->ne = [in, r]`` and
  ``b->ne = [r, out]``, which is what ``llama_adapter_lora_init`` checks against the base.
* rotary layout: llama.cpp stores Llama's q and k projections with the rows of each head
  permuted (convert_hf_to_gguf's ``permute``), and transformers' GGUF loader undoes that
  on load. The adapter's output rows, B of q_proj and k_proj, must be permuted the same
  way to land on the rows they were trained for. (tests/test_train_export.py shows the
  un-permuted export losing agreement.)

Tensors are written as F16 by default: half the size of F32 (about 5 MB for r=8 on every
linear layer of SmolLM2-135M), and the rounding (relative 5e-4) is far below the
difference the base's own Q4_1 quantization makes; F32 is one option away.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from ..errors import ConfigError

# HF module (the last two name components) -> GGUF tensor stem inside blk.N
_MODULES = {
    ("self_attn", "q_proj"): "attn_q",
    ("self_attn", "k_proj"): "attn_k",
    ("self_attn", "v_proj"): "attn_v",
    ("self_attn", "o_proj"): "attn_output",
    ("mlp", "gate_proj"): "ffn_gate",
    ("mlp", "up_proj"): "ffn_up",
    ("mlp", "down_proj"): "ffn_down",
}
_PERMUTED = {"attn_q", "attn_k"}  # rotary layout differs between HF and GGUF
_SUPPORTED_ARCHS = {"llama"}  # the q/k permutation above is Llama's
_NAME = re.compile(r"^(?:base_model\.model\.)?model\.layers\.(\d+)\.(\w+)\.(\w+)\.lora_([AB])(?:\.\w+)?\.weight$")


def _field(reader, key: str):
    f = reader.fields.get(key)
    if f is None:
        return None
    value = f.parts[f.data[0]]
    if value.dtype == np.uint8:  # a string
        return bytes(value).decode()
    return value.item() if value.size == 1 else value.tolist()


def _base_info(base_gguf: Path) -> dict:
    from gguf import GGUFReader

    reader = GGUFReader(str(base_gguf))
    arch = _field(reader, "general.architecture")
    if _field(reader, "general.type") == "adapter":
        raise ConfigError(f"{base_gguf} is itself an adapter, not a base model")
    return {
        "arch": arch,
        "n_head": _field(reader, f"{arch}.attention.head_count"),
        "n_head_kv": _field(reader, f"{arch}.attention.head_count_kv"),
        # ne order (GGUF): [in, out]
        "shapes": {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors},
    }


def permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF -> GGUF row order of a q/k projection's output rows (convert_hf_to_gguf's
    ``permute``): within each head, the interleaved rotary pairs become two halves'
    order as llama.cpp's rope expects. ``w`` is ``[out, ...]``."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _read_adapter(adapter_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    from safetensors.numpy import load_file

    cfg_path = adapter_dir / "adapter_config.json"
    if not cfg_path.is_file():
        raise ConfigError(f"{adapter_dir} is not a peft adapter: no adapter_config.json")
    cfg = json.loads(cfg_path.read_text())
    weights = adapter_dir / "adapter_model.safetensors"
    if not weights.is_file():
        raise ConfigError(f"{adapter_dir}: no adapter_model.safetensors (a .bin adapter? re-save with safetensors)")
    if cfg.get("peft_type", "LORA") != "LORA":
        raise ConfigError(f"unsupported peft type {cfg.get('peft_type')!r}: only LoRA adapters export")
    for key, what in [("use_dora", "DoRA"), ("modules_to_save", "modules_to_save (fully trained layers)"),
                      ("alpha_pattern", "alpha_pattern (per-module alpha)"), ("fan_in_fan_out", "fan_in_fan_out")]:
        if cfg.get(key):
            raise ConfigError(f"unsupported adapter feature: {what}")
    if cfg.get("bias", "none") not in ("none", None) or cfg.get("lora_bias"):
        raise ConfigError("unsupported adapter feature: trained biases")
    tensors = {k: v.astype(np.float32) for k, v in _load_float(load_file, weights).items()}
    return cfg, tensors


def _load_float(load_file, path: Path) -> dict[str, np.ndarray]:
    try:
        return load_file(str(path))
    except (TypeError, ValueError):  # bfloat16 has no numpy dtype: go through torch
        from safetensors.torch import load_file as load_torch

        return {k: v.float().numpy() for k, v in load_torch(str(path)).items()}


def lora_tensors(adapter_dir: str | Path, base_gguf: str | Path, *,
                 _permute_qk: bool = True) -> tuple[float, dict[str, np.ndarray], dict]:
    """(alpha, {gguf tensor name: float32 array in numpy order}, base info) for an adapter.

    Everything that llama.cpp cannot express is refused with a ConfigError rather than
    exported wrong. ``_permute_qk=False`` skips the rotary permutation: a wrong export,
    for the test that shows the permutation matters.
    """
    adapter_dir, base_gguf = Path(adapter_dir), Path(base_gguf)
    cfg, tensors = _read_adapter(adapter_dir)
    base = _base_info(base_gguf)
    if base["arch"] not in _SUPPORTED_ARCHS:
        raise ConfigError(f"LoRA export supports the {', '.join(sorted(_SUPPORTED_ARCHS))} architecture; "
                          f"{base_gguf.name} is {base['arch']!r}")
    alpha = float(cfg.get("lora_alpha") or 0)
    if alpha <= 0:
        raise ConfigError(f"lora_alpha must be positive, got {cfg.get('lora_alpha')!r}")

    pairs: dict[str, dict[str, np.ndarray]] = {}
    for name, t in tensors.items():
        m = _NAME.match(name)
        if not m:
            what = "embedding/output layers" if "embed" in name or "lm_head" in name else "this layer"
            raise ConfigError(f"cannot export {name!r}: LoRA on {what} is not supported "
                              f"(supported: {', '.join(sorted({p for _, p in _MODULES}))})")
        layer, parent, module, ab = m.groups()
        stem = _MODULES.get((parent, module))
        if stem is None:
            raise ConfigError(f"cannot export {name!r}: unsupported module {parent}.{module}")
        pairs.setdefault(f"blk.{layer}.{stem}.weight", {})[ab] = t
    if not pairs:
        raise ConfigError(f"{adapter_dir}: the adapter holds no LoRA weights")

    out: dict[str, np.ndarray] = {}
    for target, ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise ConfigError(f"{target}: the adapter has lora_{'A' if 'A' not in ab else 'B'} missing")
        a, b = ab["A"], ab["B"]
        shape = base["shapes"].get(target)  # ne order: [in, out]
        if shape is None:
            raise ConfigError(f"{target} is not in the base model {base_gguf.name}: adapter trained on another model?")
        r = a.shape[0]
        if a.shape != (r, shape[0]) or b.shape != (shape[1], r):
            raise ConfigError(f"{target}: adapter A{list(a.shape)} B{list(b.shape)} do not fit the base's "
                              f"[out={shape[1]}, in={shape[0]}]: adapter trained on another model?")
        # peft scales by alpha/r (alpha/sqrt(r) with rsLoRA); llama.cpp by alpha/r with r
        # read from this B: fold any difference into B.
        peft_scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
        b = b * np.float32(peft_scale / (alpha / r))
        stem = target.split(".")[2]
        if _permute_qk and stem in _PERMUTED:
            n_head = base["n_head"] if stem == "attn_q" else base["n_head_kv"] or base["n_head"]
            b = permute_rows(b, n_head)
        out[target + ".lora_a"] = np.ascontiguousarray(a)
        out[target + ".lora_b"] = np.ascontiguousarray(b)
    return alpha, out, base


def export_lora_gguf(adapter_dir: str | Path, base_gguf: str | Path, out_path: str | Path, *,
                     dtype: str = "f16", _permute_qk: bool = True) -> Path:
    """Write the peft adapter in ``adapter_dir`` as a GGUF LoRA adapter for ``base_gguf``.

    dtype: "f16" (default, half the size) or "f32" (bit-faithful to the peft weights).
    Returns the written path.
    """
    from gguf import GGUFWriter

    if dtype not in ("f16", "f32"):
        raise ConfigError(f"dtype must be f16 or f32, not {dtype!r}")
    alpha, tensors, base = lora_tensors(adapter_dir, base_gguf, _permute_qk=_permute_qk)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    writer = GGUFWriter(str(tmp), base["arch"])
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", alpha)
    writer.add_string("general.name", Path(adapter_dir).resolve().name)
    np_dtype = np.float16 if dtype == "f16" else np.float32
    for name, t in tensors.items():
        writer.add_tensor(name, t.astype(np_dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out_path)
    return out_path
