"""LoRA export: a peft adapter, written as a GGUF adapter, computes in llama.cpp what it
computes in transformers; the q/k rotary permutation is needed for that; and exact mode
stays batch invariant with the adapter applied.

The adapter is random but not small: it changes a large share of the base's greedy
choices, so agreement cannot come from the adapter doing nothing.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.model

pytest.importorskip("peft")
pytest.importorskip("gguf")
pytest.importorskip("llama_cpp")

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# lora_B's scale: large enough to move a quarter of the argmaxes, small enough to keep the
# logits text-like; larger on q/k, so that the rotary layout's share of the effect is
# plain to see in the un-permuted control
B_STD, QK_STD = 0.1, 0.3


@pytest.fixture(scope="module")
def base_gguf():
    from fastapply.errors import ConfigError
    from fastapply.models import resolve
    from fastapply.settings import Settings

    try:
        return resolve("smollm2-135m", Settings().cache_dir)[0]
    except ConfigError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def hf_model(base_gguf):
    from fastapply.train.parity import load_hf_model

    return load_hf_model(base_gguf, threads=1)  # see check_parity's threads


@pytest.fixture(scope="module")
def adapter_dir(hf_model, tmp_path_factory):
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    peft_model = get_peft_model(hf_model, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS,
                                                     init_lora_weights=False, task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, QK_STD if ("q_proj" in name or "k_proj" in name) else B_STD)
    out = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(out)
    peft_model.unload()  # hf_model is the plain base again
    return out


@pytest.fixture(scope="module")
def gguf_adapter(adapter_dir, base_gguf):
    from fastapply.train.export import export_lora_gguf

    return export_lora_gguf(adapter_dir, base_gguf, adapter_dir / "adapter.gguf")


@pytest.fixture(scope="module")
def parity(base_gguf, adapter_dir, gguf_adapter, hf_model):
    from fastapply.train.parity import DEFAULT_PROMPTS, check_parity

    return check_parity(base_gguf, adapter_dir, gguf_adapter, DEFAULT_PROMPTS, n_tokens=16, hf_model=hf_model)


def test_export_writes_a_gguf_lora_adapter(gguf_adapter, base_gguf):
    from gguf import GGUFReader

    from fastapply.train.export import _field

    reader = GGUFReader(str(gguf_adapter))
    assert _field(reader, "general.type") == "adapter"
    assert _field(reader, "adapter.type") == "lora"
    assert _field(reader, "adapter.lora.alpha") == 16.0
    assert _field(reader, "general.architecture") == _field(GGUFReader(str(base_gguf)), "general.architecture")
    names = {t.name for t in reader.tensors}
    assert len(names) == 30 * 7 * 2  # 30 layers, 7 modules, A and B
    q = {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors}
    assert q["blk.0.attn_q.weight.lora_a"] == (576, 8)  # ne order: [in, r]
    assert q["blk.0.attn_k.weight.lora_b"] == (8, 192)  # [r, out]
    assert gguf_adapter.stat().st_size < 6e6  # F16: about 5 MB


def test_adapter_matches_peft_as_closely_as_the_base_does(parity):
    a, b, e = parity["adapter"], parity["base"], parity["effect"]
    print(parity)
    # the adapter does something, and the same thing in both runtimes
    assert e["hf_changed"] > 0.2 and e["llama_changed"] > 0.2
    assert parity["delta_checked"] and parity["delta_cosine"] > 0.95
    assert a["agreement"] > parity["adapter_off"]["agreement"] + 0.1
    # and costs no agreement beyond the base's own quantization difference
    assert a["agreement"] >= 0.9
    assert a["agreement"] >= b["agreement"] - 0.05
    assert a["mean_abs"] < 1.5 * b["mean_abs"]
    assert a["greedy_agreement"] >= 0.85
    assert parity["ok"]


def test_without_the_rotary_permutation_agreement_drops(parity, base_gguf, adapter_dir, hf_model):
    from fastapply.train.export import export_lora_gguf
    from fastapply.train.parity import DEFAULT_PROMPTS, check_parity

    wrong = export_lora_gguf(adapter_dir, base_gguf, adapter_dir / "unpermuted.gguf", _permute_qk=False)
    control = check_parity(base_gguf, adapter_dir, wrong, DEFAULT_PROMPTS, n_tokens=16, hf_model=hf_model)
    print(control)
    assert control["adapter"]["agreement"] < parity["adapter"]["agreement"] - 0.1
    assert control["adapter"]["mean_abs"] > 3 * parity["adapter"]["mean_abs"]
    assert control["delta_cosine"] < parity["delta_cosine"] - 0.2
    assert not control["ok"]


def test_batch_invariance_with_the_adapter(base_gguf, gguf_adapter):
    import llama_cpp as C

    from fastapply.backends.llamacpp import LlamaCppEngine
    from fastapply.train.parity import DEFAULT_PROMPTS

    engine = LlamaCppEngine(str(base_gguf), n_ctx=1024, threads=2, exact=True, adapter=str(gguf_adapter))
    try:
        ids = engine.tokenize(engine.chat_prompt(DEFAULT_PROMPTS[0]), special=True)
        prefix, probe = ids[:-16], ids[-16:]
        engine.forward(prefix, last_only=True)
        batched = engine.forward(probe)
        rows = np.ctypeslib.as_array(C.llama_get_logits(engine._ctx), shape=(16 * engine.n_vocab,)).copy()
        engine.truncate(len(prefix))
        single, single_rows = [], []
        for t in probe:
            single.append(int(engine.forward([t]).tokens[0]))
            single_rows.append(np.ctypeslib.as_array(C.llama_get_logits(engine._ctx), shape=(engine.n_vocab,)).copy())
        assert batched.tokens.tolist() == single
        assert np.array_equal(rows.reshape(16, -1), np.stack(single_rows))  # bit-identical
    finally:
        engine.close()


def test_lora_scale(base_gguf, gguf_adapter):
    from fastapply.backends.llamacpp import LlamaCppEngine
    from fastapply.train.parity import DEFAULT_PROMPTS

    def greedy(**kw):
        engine = LlamaCppEngine(str(base_gguf), n_ctx=1024, threads=1, **kw)
        try:
            return engine.forward(engine.tokenize(engine.chat_prompt(DEFAULT_PROMPTS[1]), special=True)).tokens
        finally:
            engine.close()

    base, off, on = greedy(), greedy(adapter=str(gguf_adapter), adapter_scale=0.0), greedy(adapter=str(gguf_adapter))
    assert np.array_equal(base, off)
    assert (base != on).mean() > 0.1


def test_bad_lora_path_is_a_config_error(base_gguf, tmp_path):
    from fastapply.backends.llamacpp import LlamaCppEngine
    from fastapply.errors import ConfigError

    bogus = tmp_path / "x.gguf"
    bogus.write_bytes(b"not a gguf")
    with pytest.raises(ConfigError, match="LoRA adapter"):
        LlamaCppEngine(str(base_gguf), n_ctx=256, adapter=str(bogus))


def test_unsupported_adapters_are_refused(base_gguf, tmp_path):
    from safetensors.numpy import save_file

    from fastapply.errors import ConfigError
    from fastapply.train.export import export_lora_gguf

    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16}))
    save_file({"base_model.model.lm_head.lora_A.weight": np.zeros((8, 576), np.float32),
               "base_model.model.lm_head.lora_B.weight": np.zeros((49152, 8), np.float32)},
              str(tmp_path / "adapter_model.safetensors"))
    with pytest.raises(ConfigError, match="embedding/output"):
        export_lora_gguf(tmp_path, base_gguf, tmp_path / "out.gguf")
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16,
                                                              "use_dora": True}))
    with pytest.raises(ConfigError, match="DoRA"):
        export_lora_gguf(tmp_path, base_gguf, tmp_path / "out.gguf")


def test_hf_engine_loads_the_peft_adapter(base_gguf, adapter_dir, hf_model, gguf_adapter):
    import copy

    from fastapply.backends.hf import TransformersEngine
    from fastapply.backends.llamacpp import LlamaCppEngine
    from fastapply.train.parity import DEFAULT_PROMPTS

    llama = LlamaCppEngine(str(base_gguf), n_ctx=1024, threads=1, adapter=str(gguf_adapter))
    try:
        ids = llama.tokenize(llama.chat_prompt(DEFAULT_PROMPTS[0]), special=True)
        from_llama = llama.forward(ids).tokens
    finally:
        llama.close()
    # a copy: merging changes the weights in place, and hf_model is shared
    plain = TransformersEngine(model=copy.deepcopy(hf_model))
    adapted = TransformersEngine(model=copy.deepcopy(hf_model), adapter=str(adapter_dir))
    base, merged = plain.forward(ids).tokens, adapted.forward(ids).tokens
    assert (base != merged).mean() > 0.2
    assert (merged == from_llama).mean() > 0.9


def test_export_command_without_check(adapter_dir, base_gguf, tmp_path):
    from click.testing import CliRunner

    from fastapply.cli.export import export_cmd

    out = tmp_path / "a.gguf"
    result = CliRunner().invoke(export_cmd, [str(adapter_dir), "--base", str(base_gguf), "--out", str(out),
                                             "--no-check"])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "MB" in result.output
