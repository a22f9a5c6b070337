"""The command line's last word: any failure the tap did not foresee ends in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import FAST
from tests.helpers import run_tap

pytestmark = pytest.mark.e2e


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def test_any_unexpected_exception_is_one_line_with_its_type_and_a_traceback_only_at_debug(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST}
    (tmp_path / "state.json").write_text('{"bookmarks": ')  # not JSON: the SDK's reader raises
    args = ["--state", str(tmp_path / "state.json")]
    run = run_tap(tmp_path / "info", config, extra_args=args)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    last = error_lines(run.stderr)[-1]
    assert "JSONDecodeError: " in last
    debug = run_tap(tmp_path / "debug", config, extra_args=args, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert "JSONDecodeError: " in debug.stderr


def test_a_stop_the_tap_decided_keeps_its_code_and_message(tmp_path, sandbox):
    """RunStopped (here: records skipped for an invalid key) is not the catch-all's business."""
    config = {**sandbox.settings("getro"), **FAST, "on_invalid_primary_key": "skip"}
    sandbox.getro.jobs[101][0]["id"] = "abc"
    run = run_tap(tmp_path, config)
    assert run.returncode == 1
    assert error_lines(run.stderr)[-1].endswith(
        "Records with an invalid primary key were skipped (1 in jobs); see the ERROR lines above."
    )
    assert "RunStopped" not in run.stderr
    assert "Traceback" not in run.stderr


def test_a_missing_state_file_stops_before_any_request_naming_it(tmp_path, sandbox):
    """As the README says: a mistyped --state never starts a full read over again."""
    config = {**sandbox.settings("getro"), **FAST}
    missing = tmp_path / "state.json"
    run = run_tap(tmp_path / "run", config, extra_args=["--state", str(missing)])
    assert run.returncode == 2
    assert f"'{missing}': No such file or directory" in run.stderr
    assert sandbox.log == []


def readme_first_state_line() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return next(line for line in readme.splitlines() if line.startswith("[ -e state.json ]"))


def test_the_readme_first_run_line_makes_a_state_the_tap_starts_from(tmp_path, sandbox):
    subprocess.run(["bash", "-c", readme_first_state_line()], cwd=tmp_path, check=True)
    config = {**sandbox.settings("getro"), **FAST}
    run = run_tap(tmp_path / "run", config, extra_args=["--state", str(tmp_path / "state.json")])
    assert run.returncode == 0, run.stderr[-2000:]


def test_the_readme_first_run_line_keeps_a_state_there_is(tmp_path):
    (tmp_path / "state.json").write_text('{"bookmarks": {"jobs": {}}}')
    subprocess.run(["bash", "-c", readme_first_state_line()], cwd=tmp_path, check=True)
    assert (tmp_path / "state.json").read_text() == '{"bookmarks": {"jobs": {}}}'
