"""Inputs for ``authz-diag watch``: see ``base`` for the protocol and ``registry`` for types."""

from __future__ import annotations
