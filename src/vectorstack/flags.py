"""The one reading of an on/off environment variable, shared by the library, the harness and the noxfile.

Standard library only: the noxfile imports it from `src/` before any session has installed anything.
An empty value means the same as no value (the default): `INTEGRATION_TEST_CLEANUP=` in a CI file must
not silently mean "keep everything".
"""

from __future__ import annotations

from collections.abc import Mapping

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class FlagError(ValueError):
    """A variable meant to be on or off holds something else; the message names it and the choices."""


def parse_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """`env[name]` as a boolean; `default` when unset or empty; FlagError for any other word."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise FlagError(f"{name}={raw!r} is not on or off; use true or false (or 1/0, yes/no, on/off)")
