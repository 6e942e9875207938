"""`fastapply train`: its flags are made from TrainConfig, where the defaults live."""
from __future__ import annotations

from pathlib import Path

import click

from ..train.lora import TrainConfig
from .options import options_from
from .progress import Bar


@click.command("train")
@options_from(TrainConfig.model_fields)
def train_cmd(**kw):
    """Fine-tune a LoRA adapter for applying edits (transformers + peft).

    Starts from the embedded GGUF model (dequantized) or any HF model; the loss is on the
    answer only. Reruns with the same --out resume from the last checkpoint. Writes
    OUT/adapter (peft), OUT/loss.png and OUT/train.json; `fastapply export OUT/adapter`
    turns the adapter into a GGUF that the llama.cpp backend loads.
    """
    from ..train.lora import plot_losses, train

    cfg = TrainConfig(**{k: v for k, v in kw.items() if v is not None})
    bar = Bar(unit="step", every=10)

    def tell(info: dict) -> None:
        text = f"loss {info['loss']:.3f}  {info['tok_s']:.0f} tok/s"
        if info["eval_loss"] is not None:
            text += f"  held-out {info['eval_loss']:.3f}"
        bar.update(info["step"], info["total"], text)

    click.echo(f"training {cfg.base} on {cfg.data} -> {cfg.out}", err=True)
    try:
        result = train(cfg, progress=tell)
    finally:
        bar.close()
    png = plot_losses(result, Path(cfg.out) / "loss.png")
    evals = ", ".join(f"{loss:.3f}@{step}" for step, loss in result.eval_losses)
    click.echo(f"{result.stopped}: {result.steps} steps, {result.examples_seen} examples, {result.tokens_seen} tokens "
               f"in {result.seconds / 60:.1f} min; held-out loss {evals}")
    click.echo(f"adapter: {result.adapter}\nloss curve: {png}")
