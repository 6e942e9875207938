"""Fault suite, clean errors: every settings error is one line and exit 2, never a traceback."""
from __future__ import annotations

import pytest
from faultkit import PY, one_line_error, proc, project, run

import fastapply
from fastapply.errors import ConfigError

R = pytest.mark.fault("errors", "refused")

FLAGS = [
    ["--threads", "0"], ["--n-ctx", "16"], ["--merge-min-confidence", "nan"], ["--merge-min-confidence", "inf"],
    ["--merge-min-confidence", "1.5"], ["--draft-max", "0"], ["--draft-min", "50", "--draft-max", "2"],
    ["--ngram-min", "9", "--ngram-max", "2"], ["--window-radius", "0"], ["--max-input-bytes", "0"],
]
ENV = [("FASTAPPLY_THREADS", "abc"), ("FASTAPPLY_MODE", "bogus"), ("FASTAPPLY_DRAFT_MAX", "-1"),
       ("FASTAPPLY_MERGE_MIN_CONFIDENCE", "nan"), ("FASTAPPLY_NGRAM_MIN", "9"), ("FASTAPPLY_EXACT", "maybe")]


@R
@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: " ".join(f))
def test_bad_flag_is_one_line_exit_2(tmp_path, flags):
    target, snip = project(tmp_path)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place", *flags)
    assert r.exit_code == 2 and one_line_error(r.output), r.output
    assert flags[0] in r.output  # the message names the flag
    assert target.read_text() == PY


@R
@pytest.mark.parametrize("name,value", ENV)
def test_bad_env_var_is_one_line_exit_2(tmp_path, name, value):
    target, snip = project(tmp_path)
    p = proc("apply", target, "-s", snip, "--in-place", env={name: value})
    assert p.returncode == 2, p.stderr
    err = p.stderr.decode()
    assert one_line_error(err) and name in err
    assert target.read_text() == PY


@R
def test_real_process_bad_flag_has_no_traceback(tmp_path):
    target, snip = project(tmp_path)
    p = proc("apply", target, "-s", snip, "--threads", "0")
    assert p.returncode == 2 and one_line_error(p.stderr.decode())


@R
def test_api_settings_errors_are_config_errors():
    for bad in ({"threads": 0}, {"draft_min": 9, "draft_max": 2}, {"merge_min_confidence": float("nan")},
                {"no_such_setting": 1}):
        with pytest.raises(ConfigError) as info:
            fastapply.apply("x = 1\n", "x = 2\n", mode="merge", **bad)
        assert "\n" not in str(info.value)


@R
def test_unknown_command_and_usage_errors_exit_2(tmp_path):
    p = proc("no-such-command")
    assert p.returncode == 2 and b"Traceback" not in p.stderr
    target, snip = project(tmp_path)
    p = proc("apply", target, "-s", snip, "--in-place", "--diff")
    assert p.returncode == 2 and b"at most one" in p.stderr


@R
def test_unreadable_target_is_one_line(tmp_path):
    p = proc("apply", tmp_path / "missing.py", "-s", tmp_path / "missing.snippet")
    assert p.returncode == 3 and one_line_error(p.stderr.decode()) and b"no such file" in p.stderr
