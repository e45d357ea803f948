"""Customer-managed encryption keys of an environment: one Cloud KMS key ring, a key per service.

Each key is granted ``roles/cloudkms.cryptoKeyEncrypterDecrypter`` to the service agent of the
one service that encrypts with it, and :attr:`EncryptionKeys.key_ids` resolve only after that
grant exists: a bucket, repository or cluster created with a key its service agent cannot use
fails (GCS: "Pulumi code which uses features depending on this service account ... must take
care for race conditions", pulumi_gcp ``storage.get_project_service_account``).

Service agents are materialised with ``gcp.projects.ServiceIdentity`` where Service Usage
generates them (GKE, Artifact Registry, Vertex AI); Cloud Storage's agent comes from
``storage.get_project_service_account``, which creates it if needed (Cloud Foundation Fabric,
modules/project: service-agents.tf and cmek.tf, does the same).
https://cloud.google.com/kms/docs/compatible-services

Cloud KMS never deletes key rings or keys. Production keys are protected and retained on
delete; a sandbox's keys are removed from the stack on destroy (their versions scheduled for
destruction), and the key ring name stays taken in the project: re-creating the same
environment after a destroy needs ``pulumi import`` of the ring (docs/gcp.md).
"""

# No `from __future__ import annotations`: hosted for other languages (docs/adr/0006).
from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

ROTATION_PERIOD = f"{90 * 24 * 3600}s"
"""Automatic rotation every 90 days (CIS GCP 1.10; policy TRL-KMS-001)."""

ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
STORAGE = "storage.googleapis.com"
IDENTITY_SERVICES = ("container.googleapis.com", "artifactregistry.googleapis.com",
                     "aiplatform.googleapis.com")
"""Services whose agent ``ServiceIdentity`` generates (their primary service agents)."""


class GcpKeyArgs(TypedDict):
    """One key of the ring and the service that encrypts with it."""

    name: str
    """Key id within the ring (kind ``kms_crypto_key``), e.g. ``storage``."""
    service: str
    """The service whose agent gets encrypter/decrypter: ``container.googleapis.com`` (GKE
    secrets), ``storage.googleapis.com``, ``artifactregistry.googleapis.com`` or
    ``aiplatform.googleapis.com``."""


class GcpEncryptionKeysArgs(TypedDict):
    """Arguments of :class:`EncryptionKeys`."""

    project: pulumi.Input[str]
    """Project id (``Services.project``: waits for cloudkms and the services' APIs)."""
    location: str
    """Region of the ring: keys must be in the location of what they encrypt."""
    key_ring_name: str
    """Key ring id (kind ``kms_key_ring``), unique in the project and location forever."""
    keys: Mapping[str, GcpKeyArgs]
    """Keys by purpose (``gke-secrets``, ``storage``, ``registry``, ``vertex``)."""
    rotation_period: NotRequired[str]
    """Automatic rotation, seconds with an ``s``. Default: :data:`ROTATION_PERIOD` (90 days)."""
    protected: NotRequired[bool]
    """Pulumi ``protect`` + ``retain_on_delete`` on the ring and keys. Default: off."""
    labels: NotRequired[Mapping[str, str]]
    """Labels on the keys. Default: none beyond the provider's default labels."""


class GcpEncryptionKeys(pulumi.ComponentResource):
    """A key ring with rotating keys, each usable by exactly one service agent."""

    key_ids: dict[str, pulumi.Output[str]]
    """Key resource id by purpose (``projects/.../cryptoKeys/<name>``), resolved once the
    service agent may use it."""
    agents: dict[str, pulumi.Output[str]]
    """IAM member of the service agent granted each key, by purpose."""

    def __init__(self, name: str, args: GcpEncryptionKeysArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trellis:gcp:EncryptionKeys", name, None, opts)
        ring = self._create_ring(name, args)
        agents: dict[str, pulumi.Output[str]] = {}
        self.key_ids, self.agents = {}, {}
        for purpose, key_args in sorted(args["keys"].items()):
            service = key_args["service"]
            if service not in agents:
                agents[service] = self._agent(name, args, service)
            key = self._create_key(f"{name}-{purpose}", args, ring, key_args)
            grant = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{purpose}-encrypter", crypto_key_id=key.id, role=ENCRYPTER,
                member=agents[service], opts=pulumi.ResourceOptions(parent=self))
            self.key_ids[purpose] = pulumi.Output.all(key.id, grant.id).apply(lambda v: str(v[0]))
            self.agents[purpose] = agents[service]
        self.register_outputs({"key_ids": self.key_ids, "agents": self.agents})

    def _opts(self, args: GcpEncryptionKeysArgs) -> pulumi.ResourceOptions:
        protected = args.get("protected", False)
        return pulumi.ResourceOptions(parent=self, protect=protected, retain_on_delete=protected)

    def _create_ring(self, name: str, args: GcpEncryptionKeysArgs) -> gcp.kms.KeyRing:
        return gcp.kms.KeyRing(f"{name}-ring", project=args["project"],
                               location=args["location"], name=args["key_ring_name"],
                               opts=self._opts(args))

    def _create_key(self, name: str, args: GcpEncryptionKeysArgs, ring: gcp.kms.KeyRing,
                    key: GcpKeyArgs) -> gcp.kms.CryptoKey:
        return gcp.kms.CryptoKey(
            name, key_ring=ring.id, name=key["name"], purpose="ENCRYPT_DECRYPT",
            rotation_period=args.get("rotation_period", ROTATION_PERIOD),
            version_template={"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
                              "protection_level": "SOFTWARE"},
            labels=dict(args.get("labels", {})), opts=self._opts(args))

    def _agent(self, name: str, args: GcpEncryptionKeysArgs, service: str
               ) -> pulumi.Output[str]:
        if service == STORAGE:
            account = gcp.storage.get_project_service_account_output(
                project=args["project"], opts=pulumi.InvokeOutputOptions(parent=self))
            return account.email_address.apply(lambda email: f"serviceAccount:{email}")
        if service not in IDENTITY_SERVICES:
            raise ValueError(f"EncryptionKeys '{name}': no service agent known for {service}; "
                             f"use one of {', '.join((STORAGE, *IDENTITY_SERVICES))}")
        identity = gcp.projects.ServiceIdentity(
            f"{name}-{service.split('.')[0]}-agent", project=args["project"], service=service,
            opts=pulumi.ResourceOptions(parent=self))
        return identity.member


EncryptionKeys = GcpEncryptionKeys
"""Python name of :class:`GcpEncryptionKeys` (the any-language schema needs unique names)."""
EncryptionKeysArgs = GcpEncryptionKeysArgs
KeyArgs = GcpKeyArgs
