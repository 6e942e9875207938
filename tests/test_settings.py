"""Settings in three parts, one source: flat keywords, flat env vars, nested attributes."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from fastapply.applier import Applier
from fastapply.settings import ApplyPolicy, EngineSettings, Settings, SpeculativeSettings, leaf_fields


def test_flat_keywords_land_in_their_parts():
    s = Settings(model="m.gguf", draft_max=16, mode="merge")
    assert (s.engine.model, s.speculative.draft_max, s.policy.mode) == ("m.gguf", 16, "merge")
    assert Settings(engine=EngineSettings(model="x")).engine.model == "x"


def test_env_vars_keep_their_flat_names_and_keywords_win(monkeypatch):
    monkeypatch.setenv("FASTAPPLY_MODEL", "from-env.gguf")
    monkeypatch.setenv("FASTAPPLY_DRAFT_MAX", "12")
    monkeypatch.setenv("FASTAPPLY_MODE", "merge")
    s = Settings()
    assert (s.engine.model, s.speculative.draft_max, s.policy.mode) == ("from-env.gguf", 12, "merge")
    assert Settings(model="given.gguf").engine.model == "given.gguf"
    monkeypatch.setenv("FASTAPPLY_MODE", "bogus")
    with pytest.raises(ValidationError):
        Settings()


def test_every_leaf_has_one_flat_name():
    leaves = leaf_fields()
    parts = [EngineSettings, SpeculativeSettings, ApplyPolicy]
    assert sum(len(p.model_fields) for p in parts) + 1 == len(leaves)  # + cache_dir
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)


def test_replace_changes_leaves_and_keeps_the_rest():
    base = Settings(model="a.gguf", threads=1)
    changed = base.replace(mode="merge")
    assert changed.policy.mode == "merge" and changed.engine == base.engine
    assert hash(changed.engine) == hash(base.engine)  # engines are cached by this


def test_changing_only_the_policy_loads_no_second_engine():
    loads = []

    def load(engine, cache_dir):
        loads.append(engine)
        return object()

    from functools import lru_cache

    cached = lru_cache(maxsize=2)(load)
    a = Applier(Settings(model="a.gguf", mode="model"), load=cached)
    b = Applier(Settings(model="a.gguf", mode="auto", draft_max=8), load=cached)
    assert a.engine is b.engine and len(loads) == 1
