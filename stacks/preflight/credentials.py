"""The user's own cloud credentials, found the way the clouds' CLIs and libraries find them.

No credentials is not an error to explain at length: one line saying where Trellis looked
(:class:`NoCredentialsError`), and how to sign in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

EXTRA = "pip install 'trellis-ml[preflight]'"


class NoCredentialsError(RuntimeError):
    """No credentials were found; ``str()`` is the one line for the user."""


class MissingClientsError(RuntimeError):
    """The optional cloud client libraries are not installed."""


def _adc_path() -> Path:
    config = os.environ.get("CLOUDSDK_CONFIG")
    if config:
        return Path(config) / "application_default_credentials.json"
    if os.name == "nt":  # pragma: no cover - the path gcloud uses on Windows
        return Path(os.environ.get("APPDATA", "")) / "gcloud" / \
            "application_default_credentials.json"
    return Path.home() / ".config" / "gcloud" / "application_default_credentials.json"


def gcp() -> tuple[Any, str]:
    """(credentials, who they are) from Google's application default credentials."""
    from stacks.preflight.gcp import SCOPES, quiet_google

    try:
        with quiet_google():
            import google.auth
            from google.auth.exceptions import DefaultCredentialsError
    except ImportError as exc:
        raise MissingClientsError(f"trellis preflight on gcp needs google-auth and "
                                  f"google-api-python-client ({exc.name} is missing): "
                                  f"{EXTRA}") from None
    try:
        credentials, _project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError:
        raise NoCredentialsError(
            "no GCP credentials: looked for GOOGLE_APPLICATION_CREDENTIALS, gcloud's "
            f"application default credentials ({_adc_path()}) and the Compute Engine metadata "
            "server; run `gcloud auth application-default login`, or pass --quotas FILE") \
            from None
    who = (getattr(credentials, "service_account_email", None)
           or getattr(credentials, "account", None) or "application default credentials")
    return credentials, str(who)


def aws(region: str) -> Any:
    """A boto3 session with credentials (botocore's chain), for ``region``."""
    try:
        import boto3
    except ImportError:
        raise MissingClientsError(f"trellis preflight on aws needs boto3: {EXTRA}") from None
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise NoCredentialsError(
            "no AWS credentials: looked for AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE with ~/.aws/credentials and ~/.aws/config (SSO included), "
            "AWS_WEB_IDENTITY_TOKEN_FILE and the container and EC2 instance metadata; run "
            "`aws sso login` (or `aws configure`), or pass --quotas FILE")
    return session
