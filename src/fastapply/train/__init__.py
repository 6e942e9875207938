"""The model pipeline: training data (``data``), LoRA fine-tuning (``lora``), export to
llama.cpp (``export``). Everything here is optional: the engine never imports it."""
