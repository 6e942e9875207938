"""Chat rendering shared by the backends and the trainer (no runtime imports here)."""
from __future__ import annotations


def fallback_chat(messages: list[dict[str, str]], *, gemma: bool) -> str:
    """A chat rendering for GGUFs that carry no template (base models such as the
    embedded Gemma 3 270M): the family's own turn format where its control tokens exist,
    else ChatML, the commonest convention."""
    if gemma:  # Gemma has no system role: its template prepends the system text to the user turn
        system = "".join(m["content"] + "\n\n" for m in messages if m["role"] == "system")
        turns, first = [], True
        for m in messages:
            if m["role"] == "system":
                continue
            content = (system if first and m["role"] == "user" else "") + m["content"]
            first = False
            role = "model" if m["role"] == "assistant" else m["role"]
            turns.append(f"<start_of_turn>{role}\n{content}<end_of_turn>\n")
        return "<bos>" + "".join(turns) + "<start_of_turn>model\n"
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"
