"""`python -m fastapply ...` is the `fastapply` command (for a checkout without the script installed)."""
from fastapply.cli import main

main()
