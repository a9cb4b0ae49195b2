"""The documentation's commands run as written.

Every fenced block tagged ``sh`` in README.md and docs/ (decision records included) is run by
bash against ``make local`` (its embedded moto server; tests/local_stage.py), a file's blocks
in order in one shell, so a block may set a variable a later block of the same file uses.
Blocks tagged ``sh aws-only`` need an AWS account and are only checked for their tag; output
and other text are tagged ``text``, ``json``, ``python`` and so on.

The shell gets ``BASE`` (the API, as ``make local`` prints it) and, as ``source .run/env``
gives after ``make run``, ``AWS_ENDPOINT_URL`` with test credentials and region. It runs with
``set -eo pipefail`` from the project's root: a command that exits non-zero fails the test,
naming the file and the block's line. So that an HTTP error is a failure too, every ``curl``
in an ``sh`` block either fails on one (``-f``, ``--fail``, ``--fail-with-body``) or prints
the status (``-w '%{http_code}'``), which the block then checks.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.local_stage import ROOT, LocalStage, clean_environment, make_local

DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUN = "sh"
AWS_ONLY = "sh aws-only"
SHELL_TAGS = {"bash", "shell", "zsh", "console", "shell-session", "sh-session"}
FENCE = re.compile(r"^(`{3,})(.*)$")
# seconds for one file's blocks, all together
FILE_TIMEOUT = 180


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    info: str  # the fence's info string: "sh", "sh aws-only", "json", ...
    text: str

    @property
    def where(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, in order."""
    found = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, info = opening.group(1), opening.group(2).strip()
        body = []
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            body.append(lines[index])
            index += 1
        found.append(Block(path, index - len(body), info, "\n".join(body) + "\n"))
        index += 1
    return found


def runnable(path: Path) -> list[Block]:
    return [block for block in blocks(path) if block.info == RUN]


def script(file_blocks: list[Block]) -> str:
    """One bash script: each block after a marker naming its line, stopping at a failure."""
    parts = ["set -eo pipefail"]
    for block in file_blocks:
        parts.append(f"echo '>>> block {block.where}' >&2")
        parts.append(block.text)
    return "\n".join(parts) + "\n"


def curl_problems(block: Block) -> list[str]:
    """A curl that neither fails on an HTTP error nor prints the status hides a failure."""
    problems = []
    command = block.text.replace("\\\n", " ")
    for match in re.finditer(r"(?:^|[\s|;&($])curl\s[^|;&)\n]*", command):
        try:
            words = shlex.split(match.group(0), posix=True)
        except ValueError:
            words = match.group(0).split()
        fails = any(word in ("--fail", "--fail-with-body") or re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", word) for word in words)
        shows_status = "%{http_code}" in match.group(0)
        if not (fails or shows_status):
            problems.append(f"{block.where}: `{match.group(0).strip()[:60]}...` neither fails on an HTTP error nor prints the status")
    return problems


def run_file(file_blocks: list[Block], stage: LocalStage) -> subprocess.CompletedProcess[str]:
    env = {
        **clean_environment(),
        "BASE": stage.base,
        "AWS_ENDPOINT_URL": stage.moto_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        ["bash", "-c", script(file_blocks)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=FILE_TIMEOUT, check=False,
    )


def last_block(stderr: str | bytes | None) -> str:
    """The block that was running, from the markers the script writes to stderr."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else (stderr or "")
    markers = re.findall(r">>> block (\S+)", text)
    return markers[-1] if markers else "before the first block"


def failure_report(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"the block at {last_block(result.stderr)} failed (exit {result.returncode})\n"
        f"--- stdout (end)\n{result.stdout[-3000:]}\n--- stderr (end)\n{result.stderr[-3000:]}"
    )


# --- the documents' shape: fast -------------------------------------------------------------

def test_every_block_says_what_it_is():
    # GIVEN every fenced block of the README and the docs pages
    untagged = [b.where for path in DOC_FILES for b in blocks(path) if not b.info]
    shell_by_another_name = [f"{b.where} ({b.info})" for path in DOC_FILES for b in blocks(path) if b.info and b.info.split()[0] in SHELL_TAGS]
    # THEN each says whether it runs (sh), needs AWS (sh aws-only) or is something else
    assert not untagged, f"fenced blocks without a tag (sh, sh aws-only, text, json, ...): {untagged}"
    assert not shell_by_another_name, f"shell blocks not tagged sh or sh aws-only: {shell_by_another_name}"


def test_every_curl_shows_its_failures():
    problems = [p for path in DOC_FILES for b in blocks(path) if b.info in (RUN, AWS_ONLY) for p in curl_problems(b)]
    assert not problems, "\n".join(problems)


def test_the_readme_tour_is_run():
    assert len(runnable(ROOT / "README.md")) >= 3, "the README's tour has no sh blocks to run"


def test_a_failing_block_is_reported_with_its_line(tmp_path):
    # GIVEN a page whose second block fails
    page = tmp_path / "page.md"
    page.write_text("```sh\nX=1\n```\n\ntext\n\n```sh\ntest \"$X\" = 2\n```\n")
    # WHEN it runs
    result = subprocess.run(["bash", "-c", script(runnable(page))], capture_output=True, text=True, timeout=30, check=False)
    # THEN the run fails, naming the failing block
    assert result.returncode != 0
    assert re.findall(r">>> block \S+:(\d+)", result.stderr)[-1] == "7"


def test_a_curl_that_hides_an_http_error_is_flagged(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```sh\ncurl -s $BASE/api/schedules\ncurl -fsS $BASE/api/schedules\n"
                    "curl -s -o /dev/null -w '%{http_code}' $BASE/x\n```\n")
    problems = curl_problems(runnable(page)[0])
    assert len(problems) == 1 and "curl -s $BASE" in problems[0]


# --- the commands, against `make local`: slow -----------------------------------------------

@pytest.fixture(scope="module")
def local_stage(tmp_path_factory: pytest.TempPathFactory):
    with make_local(tmp_path_factory.mktemp("make-local")) as stage:
        yield stage


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", [path for path in DOC_FILES if runnable(path)], ids=lambda path: str(path.relative_to(ROOT)),
)
def test_the_documented_commands_run(path: Path, local_stage: LocalStage):
    # GIVEN the page's sh blocks, in order, in one shell, against make local
    # WHEN they run
    try:
        result = run_file(runnable(path), local_stage)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"{path.relative_to(ROOT)}'s blocks took over {FILE_TIMEOUT} s; "
                    f"the last one started: {last_block(timeout.stderr)}")
    # THEN every command succeeds
    assert result.returncode == 0, failure_report(result)
