"""Every name the policy pack takes from ``pulumi_policy`` beyond its public API, in one place.

``pulumi_policy`` exports the policy classes (``pulumi_policy.__all__``); what rules see of a
resource, though, is shaped by its internals: the proxies that raise on unknown values, the
sentinels that mark them, the deserializer that unwraps secrets. :mod:`policies.view` mirrors
them so ``trellis check`` (:mod:`policies.evaluate`) and ``pulumi preview --policy-pack`` give
rules the same values. Those names are imported here and nowhere else (an architecture test
enforces it), each with the reason; :data:`PINNED` records what we rely on of each, and
``tests/engine/test_sdk_tripwire.py`` fails, naming the symbol, when an upgrade of pulumi_policy
removes or changes one. The plan engine's counterpart for the Pulumi SDK is
:mod:`stacks.plan.sdk`; this one lives in ``policies`` because the pack must import nothing
from ``stacks`` (it runs alone under the Pulumi CLI).
"""

from __future__ import annotations

from typing import Any

# Not exported by pulumi_policy, but raised by its proxies when a rule reads a value the engine
# does not know yet; the rule wrappers must recognise it to fail closed with "cannot be
# verified" (policies.registry._failure), and policies.view raises the same class so both
# paths read alike.
from pulumi_policy import proxy as _proxy

# The servicer's own deserializer: from_wire hands it the rare values with a signature key
# (secrets, assets, archives) so they come out exactly as under `pulumi preview`.
from pulumi_policy.deserialize import SPECIAL_SIG_KEY as _SPECIAL_SIG_KEY
from pulumi_policy.deserialize import _deserialize_property

# Raised by ``args.not_applicable()``; the servicer reports it as "not applicable", so our
# fail-closed wrappers let it through instead of turning it into a violation.
from pulumi_policy.policy import _NotApplicableError

UnknownValueError = _proxy.UnknownValueError
NotApplicableError = _NotApplicableError

#: The key that marks a secret, asset or archive in a serialized property map.
SPECIAL_SIG_KEY: str = _SPECIAL_SIG_KEY

#: Sentinel string -> kind: how the engine sends a value it does not know yet.
UNKNOWN_SENTINELS: dict[str, str] = {
    _proxy.UNKNOWN_BOOLEAN_VALUE: "boolean",
    _proxy.UNKNOWN_NUMBER_VALUE: "number",
    _proxy.UNKNOWN_STRING_VALUE: "string",
    _proxy.UNKNOWN_ARRAY_VALUE: "array",
    _proxy.UNKNOWN_ASSET_VALUE: "asset",
    _proxy.UNKNOWN_ARCHIVE_VALUE: "archive",
    _proxy.UNKNOWN_OBJECT_VALUE: "object",
}

#: The sentinel of an unknown string (what :func:`unknown_value_error` reports).
UNKNOWN_STRING: str = _proxy.UNKNOWN_STRING_VALUE

#: The proxy types CrossGuard wraps dicts and lists in; ``proxy["__target"]`` is the value.
DICT_PROXY: Any = _proxy._DictProxy
LIST_PROXY: Any = _proxy._ListProxy


def deserialize_property(value: Any) -> Any:
    """A property value as the Analyzer servicer deserializes it (secrets unwrapped, assets and
    archives rebuilt)."""
    return _deserialize_property(value)


def unknown_value_error(path: list[str]) -> Exception:
    """The error a CrossGuard proxy raises when a rule reads the unknown value at ``path``."""
    return UnknownValueError(UNKNOWN_STRING, path)


#: What this module relies on, per private name: checked against the installed pulumi_policy
#: by tests/engine/test_sdk_tripwire.py (the failure prints the new value to put here once the
#: use above has been re-checked). ``sig`` = call signature, ``src`` = hash of the source,
#: ``is`` = value, ``class`` = bases.
PINNED: dict[str, str] = {
    "pulumi_policy.proxy.UnknownValueError": "class(Exception)",
    "pulumi_policy.proxy.UnknownValueError.__init__": "sig(self, unknown_type_sentinel, props)",
    "pulumi_policy.proxy._DictProxy": "class(Mapping)",
    "pulumi_policy.proxy._ListProxy": "class(Sequence)",
    "pulumi_policy.proxy.UNKNOWN_BOOLEAN_VALUE": "is'1c4a061d-8072-4f0a-a4cb-0ff528b18fe7'",
    "pulumi_policy.proxy.UNKNOWN_NUMBER_VALUE": "is'3eeb2bf0-c639-47a8-9e75-3b44932eb421'",
    "pulumi_policy.proxy.UNKNOWN_STRING_VALUE": "is'04da6b54-80e4-46f7-96ec-b56ff0331ba9'",
    "pulumi_policy.proxy.UNKNOWN_ARRAY_VALUE": "is'6a19a0b0-7e62-4c92-b797-7f8e31da9cc2'",
    "pulumi_policy.proxy.UNKNOWN_ASSET_VALUE": "is'030794c1-ac77-496b-92df-f27374a8bd58'",
    "pulumi_policy.proxy.UNKNOWN_ARCHIVE_VALUE": "is'e48ece36-62e2-4504-bad9-02848725956a'",
    "pulumi_policy.proxy.UNKNOWN_OBJECT_VALUE": "is'dd056dcd-154b-4c76-9bd3-c8f88648b5ff'",
    "pulumi_policy.deserialize.SPECIAL_SIG_KEY": "is'4dabf18193072939515e22adb298388d'",
    "pulumi_policy.deserialize._deserialize_property": "src:f74731f85cfdd6af",
    "pulumi_policy.policy._NotApplicableError": "class(Exception)",
}
