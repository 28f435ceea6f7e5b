"""The endpoint-prefix index that maps unknown event source hosts without reading botocore."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from diagnostics.iam.endpoint_index import from_botocore, shipped


@pytest.mark.slow
def test_shipped_index_matches_installed_botocore() -> None:
    """The bundled index names every service of the installed botocore as its models do."""
    live = from_botocore()
    bundled = shipped()
    assert bundled.services == live.services, (
        f"the index is from botocore {bundled.botocore_version}, botocore "
        f"{live.botocore_version} is installed: run tools/regen_endpoint_index.py"
    )


def test_unknown_event_source_reads_no_service_model() -> None:
    """The first unknown event source is answered from the index, not by loading every model."""
    # A fresh interpreter, so no earlier test has warmed botocore's loader.
    script = textwrap.dedent(
        """
        import botocore.loaders

        loads = []
        real = botocore.loaders.Loader.load_service_model

        def counting(self, name, type_name, api_version=None):
            loads.append(name)
            return real(self, name, type_name, api_version)

        botocore.loaders.Loader.load_service_model = counting
        from diagnostics.iam.operations import iam_prefix_for

        assert iam_prefix_for("nosuchservice.amazonaws.com") is None
        assert iam_prefix_for("streams.dynamodb.amazonaws.com") == "dynamodb"
        print(len(loads))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert int(out.stdout.strip()) <= 1, out.stdout


def test_endpoint_prefixes_resolve_to_iam_prefixes() -> None:
    """Hosts named by endpoint prefix or botocore name resolve to the IAM prefix."""
    from diagnostics.iam.operations import iam_prefix_for

    assert iam_prefix_for("api.ecr.amazonaws.com") == "ecr"
    assert iam_prefix_for("streams.dynamodb.amazonaws.com") == "dynamodb"
    assert iam_prefix_for("monitoring.amazonaws.com") == "cloudwatch"
    assert iam_prefix_for("nosuchservice.amazonaws.com") is None
