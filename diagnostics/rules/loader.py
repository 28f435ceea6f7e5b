"""Read rule directories into checked rule documents, with override and disable."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnostics.rules.schema import Problem, check_rule

#: Directories under a rules dir that hold data, not rules.
DATA_DIRS = frozenset({"baseline"})


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """One rule file's parsed TOML and where it came from."""

    path: Path
    doc: dict[str, Any]

    @property
    def id(self) -> str:
        value = self.doc.get("id")
        return value if isinstance(value, str) else "?"


@dataclass(slots=True)
class Loaded:
    """Everything read from the dirs: effective rules, problems, disables."""

    docs: dict[str, RuleDoc] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)
    #: The file that switched each disabled id off (the last one, when several did).
    disabled_by: dict[str, Path] = field(default_factory=dict)
    unknown_disables: list[Problem] = field(default_factory=list)


def rule_files(directory: Path) -> Iterator[Path]:
    """Every ``*.toml`` rule file under ``directory``, sorted, data dirs skipped."""
    for path in sorted(directory.rglob("*.toml")):
        rel = path.relative_to(directory).parts
        if rel[0] in DATA_DIRS or any(p.startswith(("_", ".")) for p in rel[:-1]):
            continue
        yield path


def _read(path: Path) -> tuple[dict[str, Any] | None, Problem | None]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh), None
    except OSError as exc:
        return None, Problem(
            str(path), "?", "-", f"cannot read: {exc.strerror}", "check permissions"
        )
    except tomllib.TOMLDecodeError as exc:
        return None, Problem(str(path), "?", "-", f"invalid TOML: {exc}", "fix the TOML syntax")


def load_dirs(dirs: Sequence[Path]) -> Loaded:
    """Later dirs win: a rule with a known id replaces it; ``disabled`` drops it."""
    out = Loaded()
    disables: list[tuple[Path, str]] = []
    origin: dict[str, Path] = {}  # rule id -> the rules dir it came from
    for directory in dirs:
        if not directory.is_dir():
            out.problems.append(
                Problem(
                    str(directory), "-", "-", "not a directory", "pass a directory of *.toml rules"
                )
            )
            continue
        for path in rule_files(directory):
            doc, problem = _read(path)
            if problem or doc is None:
                out.problems.append(problem or Problem(str(path), "?", "-", "empty", "add a rule"))
                continue
            if "id" not in doc and "disable" in doc:
                ids = doc["disable"]
                if (
                    set(doc) != {"disable"}
                    or not isinstance(ids, list)
                    or not all(isinstance(i, str) for i in ids)
                ):
                    out.problems.append(
                        Problem(
                            str(path),
                            "-",
                            "disable",
                            "malformed",
                            'write only disable = ["id", ...]',
                        )
                    )
                    continue
                disables.extend((path, i) for i in ids)
                continue
            rd = RuleDoc(path, doc)
            problems = [Problem(str(path), rd.id, f, p, h) for f, p, h in check_rule(doc)]
            if problems:
                out.problems.extend(problems)
                continue
            if doc.get("disabled") is True:
                disables.append((path, rd.id))
                continue
            if rd.id in out.docs and origin.get(rd.id) == directory:
                out.problems.append(
                    Problem(
                        str(path),
                        rd.id,
                        "id",
                        f"also used by {out.docs[rd.id].path}",
                        "ids must be unique",
                    )
                )
            out.docs[rd.id] = rd
            origin[rd.id] = directory
    known = set(out.docs)
    for path, rule_id in disables:
        if rule_id in out.docs:
            out.docs.pop(rule_id)
        elif rule_id not in known and rule_id not in out.disabled:
            out.unknown_disables.append(
                Problem(str(path), rule_id, "disable", "no rule has this id", "check for a typo")
            )
        out.disabled.add(rule_id)
        out.disabled_by[rule_id] = path
    return out
