"""`fastapply train`: its flags are made from TrainConfig, where the defaults live."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..settings import field_type
from .lora import TrainConfig


def config_options(func):
    for name, field in reversed(list(TrainConfig.model_fields.items())):
        required = field.is_required()
        opt = click.option("--" + name.replace("_", "-"), name, type=field_type(field.annotation),
                           required=required, default=None,
                           help=field.description + ("" if required else f" [default: {field.default}]"))
        func = opt(func)
    return func


class Bar:
    """A tqdm bar when it is installed and stderr is a terminal, else a line every 10 steps."""

    def __init__(self) -> None:
        self.bar = None
        self.tty = sys.stderr.isatty()

    def __call__(self, info: dict) -> None:
        text = f"loss {info['loss']:.3f}  {info['tok_s']:.0f} tok/s"
        if info["eval_loss"] is not None:
            text += f"  held-out {info['eval_loss']:.3f}"
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=info["total"], initial=info["step"] - 1, unit="step", file=sys.stderr)
            self.bar.set_postfix_str(text)
            self.bar.update(1)
        elif info["step"] % 10 == 0 or info["step"] == info["total"]:
            click.echo(f"step {info['step']}/{info['total']}  {text}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.command("train")
@config_options
def train_cmd(**kw):
    """Fine-tune a LoRA adapter for applying edits (transformers + peft).

    Starts from the embedded GGUF model (dequantized) or any HF model; the loss is on the
    answer only. Reruns with the same --out resume from the last checkpoint. Writes
    OUT/adapter (peft), OUT/loss.png and OUT/train.json; `fastapply export OUT/adapter`
    turns the adapter into a GGUF that the llama.cpp backend loads.
    """
    from .lora import plot_losses, train

    cfg = TrainConfig(**{k: v for k, v in kw.items() if v is not None})
    bar = Bar()
    click.echo(f"training {cfg.base} on {cfg.data} -> {cfg.out}", err=True)
    try:
        result = train(cfg, progress=bar)
    finally:
        bar.close()
    png = plot_losses(result, Path(cfg.out) / "loss.png")
    evals = ", ".join(f"{loss:.3f}@{step}" for step, loss in result.eval_losses)
    click.echo(f"{result.stopped}: {result.steps} steps, {result.examples_seen} examples, {result.tokens_seen} tokens "
               f"in {result.seconds / 60:.1f} min; held-out loss {evals}")
    click.echo(f"adapter: {result.adapter}\nloss curve: {png}")
