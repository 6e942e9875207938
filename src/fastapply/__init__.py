"""fastapply: apply lazy code-edit snippets to files, fast and exactly."""
__version__ = "0.1.0"
