"""Real edits from package releases, shared by the benchmark (``evals``) and the training set (``train``).

    mining.py    fetch releases through pip/npm, read archives, pair changed files
    filters.py   which changed files are usable edits; manifests
    stdlib.py    the guard that keeps CPython's standard library out (reserved for evaluation)
    snippets.py  render a lazy edit snippet from a before/after pair
"""
