"""The ``trellis`` any-language component package (``pulumi package add <repo>/components@<tag>``).

Pulumi's Python language host runs this file as a script, ``python <repo>/components
<engine-address>``, not as ``components.__main__`` (docs/adr/0006-any-language-components.md).
So :func:`main` first makes ``components`` importable from the checkout, then hosts the public
components with :func:`pulumi.provider.experimental.component_provider_host`, which infers the
package schema from their type annotations and docstrings.

Only the classes in :func:`public_components` are in the schema. Each is keyed by the type string
it registers: that string, not the schema token ``trellis:index:<ClassName>``, is what ends up in
URNs, so a component created from TypeScript has the same URN as one created from Python.
"""

import re
import sys
from pathlib import Path

import pulumi

PACKAGE = "trellis"
"""Package name: schema tokens ``trellis:index:<ClassName>``, TypeScript ``@pulumi/trellis``."""

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent


def public_components() -> dict[str, type[pulumi.ComponentResource]]:
    """Registered type string -> component class, for every component other languages may use."""
    from components import aws, gcp, k8s

    return {
        "trellis:gcp:Services": gcp.Services,
        "trellis:gcp:Network": gcp.Network,
        "trellis:gcp:Cluster": gcp.Cluster,
        "trellis:gcp:GpuNodePool": gcp.GpuNodePool,
        "trellis:gcp:CpuNodePool": gcp.CpuNodePool,
        "trellis:gcp:EncryptionKeys": gcp.EncryptionKeys,
        "trellis:gcp:Bucket": gcp.Bucket,
        "trellis:gcp:TeamRegistry": gcp.TeamRegistry,
        "trellis:gcp:TeamIdentity": gcp.TeamIdentity,
        "trellis:gcp:Pipeline": gcp.Pipeline,
        "trellis:gcp:AlertChannels": gcp.AlertChannels,
        "trellis:gcp:Budget": gcp.Budget,
        "trellis:gcp:ProjectAccess": gcp.ProjectAccess,
        "trellis:aws:EnvironmentKey": aws.EnvironmentKey,
        "trellis:aws:Network": aws.Network,
        "trellis:aws:Cluster": aws.Cluster,
        "trellis:aws:GpuNodeGroup": aws.GpuNodeGroup,
        "trellis:aws:Bucket": aws.Bucket,
        "trellis:aws:RegistrySettings": aws.RegistrySettings,
        "trellis:aws:TeamRegistry": aws.TeamRegistry,
        "trellis:aws:TeamIdentity": aws.TeamIdentity,
        "trellis:aws:Pipeline": aws.Pipeline,
        "trellis:aws:Budget": aws.Budget,
        "trellis:k8s:TeamNamespace": k8s.TeamNamespace,
        "trellis:k8s:WarmCapacity": k8s.WarmCapacity,
        "trellis:k8s:ClusterAutoscaler": k8s.ClusterAutoscaler,
        "trellis:k8s:TeamAdmission": k8s.TeamAdmission,
    }


def package_version() -> str:
    """The distribution's version from pyproject.toml: the plugin venv does not install it.

    Release tags (``v0.1.0``) must match it; ``pulumi package add ...@v0.1.0`` then generates an
    SDK of that version.
    """
    text = (_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = re.search(r"^\[project\]$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    found = project and re.search(r'^version\s*=\s*"([^"]+)"', project.group(1), re.MULTILINE)
    if not found:
        raise RuntimeError(f"no [project] version in {_ROOT / 'pyproject.toml'}")
    return found.group(1)


def _use_checkout() -> None:
    # `python <repo>/components` puts components/ itself first on sys.path, which would make
    # `gcp`, `aws` and `common` importable as top-level modules next to `components.gcp`. The
    # repository root is the import root (docs/adr/0001-import-layout.md).
    if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
        sys.path.pop(0)
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))


def main() -> None:
    """Serve the provider; the language host passes the engine address as the first argument."""
    _use_checkout()
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(list(public_components().values()), PACKAGE,
                            version=package_version())


if __name__ == "__main__":
    main()
