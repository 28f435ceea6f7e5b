"""What a sink writes about an alert: JSON objects and safe strings.

Every value that came from a log is hostile until shown otherwise: it can
carry terminal escape sequences, bidi overrides or Slack markup.
"""

from __future__ import annotations

from typing import Any

from diagnostics.alerts.alert import Alert
from diagnostics.alerts.sink import Detail
from diagnostics.model import Diagnosis, JSONObject
from diagnostics.request.context import matched_statements
from diagnostics.text.safe import line

#: How many matched statements a summary lists.
SUMMARY_STATEMENTS = 5

#: ``clean`` never shortens: a sink's text is a record, not a terminal screen.
_NO_LIMIT = 1 << 62


def clean(value: object) -> str:
    """``value`` as one printable line (``diagnostics.text.safe.line``, never shortened)."""
    return line(value, _NO_LIMIT)


def summarize_decoded(decoded: JSONObject) -> JSONObject:
    """What ``detail = "summary"`` keeps of a decoded message: no raw context."""
    statements = matched_statements(decoded)
    return {
        "allowed": decoded.get("allowed") if isinstance(decoded.get("allowed"), bool) else None,
        "explicit_deny": decoded.get("explicitDeny")
        if isinstance(decoded.get("explicitDeny"), bool)
        else None,
        "matched_statements_total": len(statements),
        "matched_statements": [
            {
                "statement_id": st.statement_id,
                "effect": st.effect,
                "actions": list(st.actions[:5]),
                "resources": list(st.resources[:5]),
                "condition_keys": sorted({c.key for c in st.conditions}),
            }
            for st in statements[:SUMMARY_STATEMENTS]
        ],
    }


def diagnosis_json(diagnosis: Diagnosis, detail: Detail) -> JSONObject:
    """``Diagnosis.to_json()``; with ``summary`` the decoded message and blob are replaced."""
    out = diagnosis.to_json()
    if detail == "summary":
        if diagnosis.decoded is not None:
            out["decoded_summary"] = summarize_decoded(diagnosis.decoded)
        out["decoded"] = None
        # The blob is the decoded message in a form its account can decode.
        out["encoded_message"] = None
    return out


def alert_json(alert: Alert, detail: Detail) -> JSONObject:
    """One JSON-lines record: the group and its distinct diagnoses."""
    out: dict[str, Any] = {"type": "alert", **alert.to_json(), "detail": detail}
    out["diagnoses"] = [diagnosis_json(d, detail) for d in alert.diagnoses]
    return out
