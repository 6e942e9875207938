"""The public apply benchmark and how results are scored: the set (dataset.py, built from
``corpus``), metrics, the resumable runner, reports and plots, an optional LLM judge, and an
oracle engine that measures drafts alone."""
