"""The rule-file schema as Markdown, generated from the registries."""

from __future__ import annotations

from diagnostics.rules.schema import (
    CASE_FAILURE_FIELDS,
    CASE_FIELDS,
    CASE_FIX_FIELDS,
    FIX_FIELDS,
    RULE_FIELDS,
)
from diagnostics.rules.tables import matchers_table, placeholders_table


def schema_markdown() -> str:
    """What ``authz-diag rules schema`` prints and docs/rules.md embeds."""
    out = ["## Rule fields", "", "| field | required | meaning |", "|---|---|---|"]
    for name, spec in RULE_FIELDS.items():
        out.append(f"| `{name}` | {'yes' if spec.required else 'no'} | {spec.doc} |")
    out += ["", "## Fix fields (`[[fix]]`)", "", "| field | meaning |", "|---|---|"]
    for name, doc in FIX_FIELDS.items():
        out.append(f"| `{name}` | {doc} |")
    out += ["", "## Matchers (`[match]`, `[unless]`, and each table of `any = [...]`)", ""]
    out += ["| matcher | argument | matches when |", "|---|---|---|"]
    for m in sorted(matchers_table().values(), key=lambda m: m.name):
        out.append(f"| `{m.name}` | {m.arg} | {m.doc} |")
    out.append("| `any` | [tables] | at least one of the listed matcher tables holds |")
    out += ["", "## Placeholders (explanation, applies_to, statements)", ""]
    out += ["| placeholder | value |", "|---|---|"]
    for p in sorted(placeholders_table().values(), key=lambda p: p.name):
        form = {"none": f"{{{p.name}}}", "optional": f"{{{p.name}[:ARG]}}"}.get(
            p.takes_arg, f"{{{p.name}:ARG}}"
        )
        out.append(f"| `{form}` | {p.doc} |")
    out += ["", "## Case fields (`[[case]]`)", "", "| field | meaning |", "|---|---|"]
    for name, doc in CASE_FIELDS.items():
        out.append(f"| `{name}` | {doc} |")
    out.append("")
    out.append("`[case.failure]` takes: " + ", ".join(f"`{f}`" for f in CASE_FAILURE_FIELDS) + ".")
    out.append("")
    out.append(
        "`[case.fix]` takes: " + "; ".join(f"`{k}` ({v})" for k, v in CASE_FIX_FIELDS.items()) + "."
    )
    out.append("")
    return "\n".join(out)
