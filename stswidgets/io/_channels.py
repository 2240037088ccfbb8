"""Channel names, for every reader: which channel is a dI/dV, a lock-in X/Y pair, a current.

Names are the Dataset variable names readers give (``"LockinX"``, ``"LIX 1 omega [bwd]"``,
``"7280DSP Lockin-X"``, ``"LI Demod 1 X [AVG]"``, RHK's ``"LIA_Current"``, Omicron's lock-in
input ``"Aux2(V)"``; currents ``"Current"``, ``"I(V)"``, ``"I"``, ``"Tip Current"``, ``"It"``),
with or without a unit in parentheses.
"""

from __future__ import annotations

import re

from stswidgets.io.errors import ChannelError
from stswidgets.io.nanonis.header import split_unit

__all__ = [
    "AUX_KIND",
    "channel_rank",
    "current_rank",
    "direction_rank",
    "find_channel",
    "lockin_pairs",
]

_TAG = re.compile(r"\s*\[([^\]]*)\]")
_DIDV = re.compile(r"d\s*i\s*/?\s*d\s*v\b.*", re.IGNORECASE)
_LOCKIN = re.compile(r"lock-?in|demod|^LI[XYR]?\b|\bLI[XYR]\b|^LIA(?:[_ ]|\b)", re.IGNORECASE)
# an auxiliary input that usually carries an external lock-in's output (Omicron MATRIX: Aux2)
_AUX_LOCKIN = re.compile(r"aux\s*2", re.IGNORECASE)
_CURRENT = re.compile(r"(tip[_ ]?)?current|i|it|i\(v\)", re.IGNORECASE)
_COMPONENTS = [("X", 0), ("R", 1), ("Y", 3)]  # best first: in-phase X, magnitude R, quadrature Y
_PHASE = re.compile(r"phi|phase|theta", re.IGNORECASE)
PHASE_COMPONENT = 4
AUX_KIND = 2


def _component_pattern(letter: str) -> str:
    """The lock-in component ``letter`` in a name; group 1 is what comes before it."""
    return rf"(lock-?in[-_ ]?|^LI|demod\s*\d*\s*|\b){letter}\b"


def _split(name: str) -> tuple[str, tuple[str, ...]]:
    """``"LIX 1 omega [bwd] (A)"`` -> ``("LIX 1 omega", ("bwd",))``."""
    base = split_unit(name)[0]
    tags = tuple(tag.strip().lower() for tag in _TAG.findall(base))
    return _TAG.sub("", base).strip(), tags


def direction_rank(name: str) -> int:
    """0 for forward or ``[AVG]``, 1 for a single sweep ``[00001]``, 2 for ``[bwd]``."""
    tags = _split(name)[1]
    return 2 if "bwd" in tags else 1 if any(tag.isdigit() for tag in tags) else 0


def _component_rank(base: str) -> int:
    for letter, rank in _COMPONENTS:
        if re.search(_component_pattern(letter), base, re.IGNORECASE):
            return rank
    return PHASE_COMPONENT if _PHASE.search(base) else 2


def channel_rank(name: str) -> tuple[int, int, int] | None:
    """How good a dI/dV channel ``name`` is (lower is better), None when it is no dI/dV channel.

    ``(kind, component, direction)``: kind 0 for a ``didv``/``dI/dV`` channel, 1 for a
    lock-in output (``LIX 1 omega``, ``LockinX``, ``LI Demod 1 X``, ``7280DSP Lockin-X``,
    ``LIA_Current``), :data:`AUX_KIND` (2) for an auxiliary input that usually carries a
    lock-in (``Aux2``, read only where there is no better channel); component X < R < other
    < Y < phase; direction: forward or ``[AVG]`` < a single sweep ``[00001]`` < ``[bwd]``.
    """
    base = _split(name)[0]
    if _DIDV.fullmatch(base):
        return 0, 0, direction_rank(name)
    if _LOCKIN.search(base):
        return 1, _component_rank(base), direction_rank(name)
    if _AUX_LOCKIN.fullmatch(base):
        return AUX_KIND, 2, direction_rank(name)
    return None


def current_rank(name: str) -> int | None:
    """Direction rank of a current channel (``Current``, ``I(V)``, ``I``, ``Tip Current``,
    ``It``), None for any other channel."""
    if not _CURRENT.fullmatch(_split(name)[0]):
        return None
    return direction_rank(name)


def lockin_pairs(names: list[str]) -> list[tuple[str, str]]:
    """``(X, Y)`` channel pairs of the same lock-in and sweep direction, in ``names`` order.

    ``Y`` is the name with the lock-in's X component letter turned into Y (``LIX 1 omega
    [bwd]`` and ``LIY 1 omega [bwd]``; ``7280DSP Lockin-X`` and ``7280DSP Lockin-Y``).
    """
    by_parts = {_split(name): name for name in names}
    pairs = []
    for name in names:
        rank = channel_rank(name)
        if rank is None or rank[:2] != (1, 0):
            continue
        base, tags = _split(name)
        quadrature = re.sub(_component_pattern("X"), r"\1Y", base, count=1, flags=re.IGNORECASE)
        partner = by_parts.get((quadrature, tags))
        if partner is not None and partner != name:
            pairs.append((name, partner))
    return pairs


def find_channel(names: list[str], full: dict[str, str], channel: str, source: str) -> str:
    """The one channel ``channel`` names: exact, case-insensitive, or a unique prefix."""
    listing = ", ".join(repr(name) for name in names)
    exact = [name for name in names if channel in (name, full[name])]
    if exact:
        return exact[0]
    lower = channel.lower()
    for candidates in (
        [name for name in names if lower in (name.lower(), full[name].lower())],
        [n for n in names if n.lower().startswith(lower) or full[n].lower().startswith(lower)],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise ChannelError(
                f"channel {channel!r} is ambiguous in {source}: it matches "
                f"{', '.join(map(repr, candidates))}; available channels: {listing}"
            )
    raise ChannelError(f"{source} has no channel {channel!r}; available channels: {listing}")
