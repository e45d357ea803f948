"""Helpers shared by the per-cloud mocks: stable fake numbers and a fake cluster CA."""

from __future__ import annotations

import base64
import hashlib

FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nTRELLIS-OFFLINE-PLAN\n"
                            b"-----END CERTIFICATE-----\n").decode()


STAND_IN = "trellis-offline-plan"
"""The mark of a value the offline plan makes up where only ``pulumi up`` can read the real one
(a ``gs://`` or ``s3://`` template): consumers find stand-ins by it and never present them as
what will be deployed (the handoff refuses to cite them, ``trellis handoff --strict``)."""


def digits(seed: str, n: int) -> str:
    """``n`` decimal digits derived from ``seed``: ids and numbers that never change."""
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:n]
