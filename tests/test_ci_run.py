"""CI runs the README's install-and-test command, so what a reader runs is what CI proves."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sh_blocks(text: str) -> list[str]:
    """The bodies of the ```sh fenced blocks, in order."""
    blocks: list[str] = []
    body: list[str] | None = None
    for line in text.splitlines():
        if body is None and line.strip() == "```sh":
            body = []
        elif body is not None and line.strip() == "```":
            blocks.append("\n".join(body))
            body = None
        elif body is not None:
            body.append(line)
    return blocks


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """.ci/run contains, as one whole line, the README's second command (install and test)."""
    command = _sh_blocks((ROOT / "README.md").read_text())[1].strip()
    assert "pytest" in command, command
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in lines, f".ci/run must run the README's test command verbatim: {command}"
