"""``make stop`` leaves nothing of the emulator behind: its process and its temporary folder
(ministack unpacks every function it runs there, about 69 MB each)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ops import emulator, run

pytestmark = pytest.mark.slow  # the emulator as a subprocess


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "RUN_DIR", tmp_path)
    monkeypatch.setattr(run, "PID_FILE", tmp_path / "run.pid")
    monkeypatch.setattr(run, "EMULATOR_PID_FILE", tmp_path / "ministack.pid")
    monkeypatch.setattr(run, "ENV_FILE", tmp_path / "env")
    return tmp_path


def test_stop_removes_the_emulator_and_its_temporary_folder(run_dir):
    # GIVEN an emulator left running by a run that is gone, with a folder full of unpacked code
    folder = Path(tempfile.mkdtemp(prefix="rez-agent-ministack-test-"))
    (folder / "ministack-lambda-extract" / "function").mkdir(parents=True)
    (folder / "ministack-lambda-extract" / "function" / "app.py").write_text("x = 1\n")
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "ministack"], start_new_session=True
    )
    pid_file = run_dir / "ministack.pid"
    pid_file.write_text(f"{process.pid}\n")
    emulator.temporary_folder_file(pid_file).write_text(f"{folder}\n")

    # WHEN make stop runs
    out = io.StringIO()
    run.stop(out=out)

    # THEN the emulator is gone, and so is its temporary folder and every record of it
    assert process.wait(timeout=10) is not None
    assert not folder.exists()
    assert not pid_file.exists() and not emulator.temporary_folder_file(pid_file).exists()
    assert f"ministack (pid {process.pid})" in out.getvalue()


def test_a_recorded_folder_that_is_not_the_emulators_is_left_alone(run_dir):
    # GIVEN a record pointing at a folder the emulator did not make
    folder = Path(tempfile.mkdtemp(prefix="precious-"))
    pid_file = run_dir / "ministack.pid"
    emulator.temporary_folder_file(pid_file).write_text(f"{folder}\n")
    # WHEN make stop runs
    run.stop(out=io.StringIO())
    # THEN that folder stays
    assert folder.exists()
    os.rmdir(folder)
