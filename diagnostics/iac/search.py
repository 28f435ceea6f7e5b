"""Walk an IaC tree once and answer "where is this role, user or bucket defined?"."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diagnostics.errors import UsageError
from diagnostics.iac import cloudformation, terraform
from diagnostics.iac.found import Defined
from diagnostics.iac.targets import target_of

#: Directories no template lives in (provider caches, VCS, dependencies).
SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", ".venv", "__pycache__"})
#: Larger files are skipped and counted: no hand-written template is this big.
MAX_FILE_BYTES = 8 * 1024 * 1024

Scanner = Callable[[str, str], Iterable[Defined]]


def _scanner(name: str) -> Scanner | None:
    if name.endswith(".tf"):
        return terraform.scan_tf
    if name.endswith(".tf.json"):
        return terraform.scan_tf_json
    if name.endswith((".yaml", ".yml", ".template")):
        return cloudformation.scan_yaml
    if name.endswith(".json"):
        return cloudformation.scan_json
    return None


@dataclass(slots=True)
class IacIndex:
    """Every role, user, group and bucket resource of one tree, by (kind, name)."""

    root: str
    by_name: dict[tuple[str, str], list[Defined]] = field(default_factory=dict)
    files: int = 0
    #: Files that could not be read or were too large, with why: one warning each.
    warnings: list[str] = field(default_factory=list)

    def find(self, arn: str) -> list[Defined]:
        """The resources that define ``arn``'s role, user, group or bucket (path must agree)."""
        target = target_of(arn)
        if target is None:
            return []
        found = self.by_name.get((target.kind, target.name), [])
        if target.path == "/":
            return list(found)  # a session's ARN carries no path: any path may be it
        return [d for d in found if d.path is None or d.path == target.path]


def _files(root: Path) -> Iterator[Path]:
    # Symlinked directories are not followed (os.walk's default): no loops.
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            if _scanner(name) is not None:
                yield Path(folder, name)


def index_tree(root: str) -> IacIndex:
    """Read every Terraform and CloudFormation file under ``root``."""
    base = Path(root)
    if not base.is_dir():
        raise UsageError(
            f"--iac {root}: not a directory; name the folder that holds your Terraform "
            "(.tf, .tf.json) or CloudFormation/CDK (template .yaml/.json, cdk.out) files"
        )
    index = IacIndex(root)
    for path in _files(base):
        scan = _scanner(path.name)
        assert scan is not None
        shown = str(path)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                index.warnings.append(f"--iac: skipped {shown}: larger than 8 MiB")
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            index.warnings.append(f"--iac: could not read {shown}: {exc.strerror or exc}")
            continue
        index.files += 1
        for defined in scan(text, shown):
            index.by_name.setdefault((defined.kind, defined.name), []).append(defined)
    return index
