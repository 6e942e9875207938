"""`fastapply export`: a trained peft adapter as a GGUF adapter for llama.cpp, with a parity check."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.argument("adapter_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--base", default="smollm2-135m", show_default=True,
              help="The base model the adapter was trained on: an embedded model name or a GGUF path.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The GGUF adapter to write [default: ADAPTER_DIR/adapter.gguf].")
@click.option("--dtype", type=click.Choice(["f16", "f32"]), default="f16", show_default=True,
              help="Tensor type of the written adapter.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare transformers (base + peft) against llama.cpp (base + GGUF adapter) on a few prompts.")
def export_cmd(adapter_dir: Path, base: str, out: Path | None, dtype: str, check: bool) -> None:
    """Turn a peft LoRA adapter (from `fastapply train`) into a GGUF adapter for llama.cpp.

    The GGUF adapter is applied at run time on the unchanged base model (the llama
    backend's adapter=). With --check (the default), transformers with the peft adapter
    and llama.cpp with the GGUF adapter are run on a few short prompts, and their greedy
    choices and logits are compared, with the base model alone as the reference: the
    base's Q4_1 weights round differently from transformers' dequantized ones, so some
    difference is expected for both.
    """
    from ..models import resolve
    from ..settings import Settings
    from ..train.export import export_lora_gguf

    base_gguf, _ = resolve(base, Settings().cache_dir)
    out = out or adapter_dir / "adapter.gguf"
    path = export_lora_gguf(adapter_dir, base_gguf, out, dtype=dtype)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {dtype})")
    if not check:
        return
    from ..train.parity import DEFAULT_PROMPTS, check_parity, format_report

    click.echo("checking parity (transformers + peft vs llama.cpp + GGUF adapter)...")
    report = check_parity(base_gguf, adapter_dir, path, DEFAULT_PROMPTS)
    click.echo(format_report(report))
    if not report["ok"]:
        raise click.ClickException("parity check failed: see the numbers above")
