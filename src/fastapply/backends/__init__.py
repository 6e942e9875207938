"""Inference backends behind one small protocol (base.Engine), looked up by name."""
from .base import Engine
from .registry import available, get_engine_class, load_engine

__all__ = ["Engine", "available", "get_engine_class", "load_engine"]
