"""Deterministic damage to grid files, and the child process that opens them (``test_fuzz``).

:func:`cases` lists, for one source file, a few dozen mutations (truncations at several
points, flipped bytes in the header and the payload, header numbers edited to huge, negative
and zero values, zeroed tails, foreign content behind the right magic). Each is a JSON-able
``[name, kind, *arguments]``; :func:`mutate` applies it to the file's bytes.

Run as a script (``python fuzz_cases.py``), this module is the child: it caps its address
space (``RLIMIT_AS``), reads ``[[case_id, source, other, suffix, seed, mutation], ...]`` as
JSON on stdin, opens each mutated file with :func:`stswidgets.io.open_grid` under a per-case
alarm and prints one JSON line per case: ``{"id", "outcome", "names_file", "detail"}``.
``outcome`` is ``"grid"`` (then ``names_file`` says whether a warning named the file, and
``detail`` holds those warnings), ``"FormatError"``, ``"ChannelError"`` or ``"other"`` (any
other exception, a MemoryError or a timeout).
"""

from __future__ import annotations

import json
import re
import struct
import sys

import numpy as np

MEMORY_CAP = 2 << 30  # bytes of address space for the child
CASE_TIMEOUT_S = 20
TEXT_END = (b":HEADER_END:", b"\n#!")  # Nanonis and Nanosurf text headers end here
_NUMBER = re.compile(rb"(?<=[=:x;\" ])-?\d+")
_KEY_LINES = (
    b"Grid dim",
    b"# Parameters",
    b"Points=",
    b"Lines=",
    b"SaveBits",
    b"Map0",
    b"points per line",
    b"Lines per plane",
    b"Experiment size",
)
NUMBER_VALUES = (b"2147483647", b"-1", b"0")
INT32_VALUES = (0x7FFFFFFF, -1, 0)


def _header_bytes(data: bytes) -> int:
    """Bytes of the header: up to a text header's end tag, else the first 1 kB."""
    for tag in TEXT_END:
        end = data.find(tag)
        if end > 0:
            return end
    return min(1024, len(data) // 4)


def cases(data: bytes, seed: int, other: bytes) -> list[list]:
    """The mutations of a file ``data`` (``other``: a file of another format, for foreign
    content behind this one's magic)."""
    rng = np.random.default_rng(seed)
    n, head = len(data), _header_bytes(data)
    found = []
    for fraction in (0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        found.append([f"truncated to {fraction:g}", "truncate", int(n * fraction)])
    found.append(["one byte short", "truncate", n - 1])
    for k, at in enumerate(rng.integers(0, max(head, 1), 8)):
        found.append([f"header flip {k}", "flip", int(at), int(rng.integers(1, 256))])
    for k, at in enumerate(rng.integers(head, n, 6) if n > head else []):
        found.append([f"payload flip {k}", "flip", int(at), int(rng.integers(1, 256))])
    numbers = list(_NUMBER.finditer(data[: max(head, 1)] if head > 1024 else data))
    keyed = [m for m in numbers if any(key in data[max(0, m.start() - 40) : m.start()]
                                       for key in _KEY_LINES)]  # fmt: skip
    spread = [numbers[int(i)] for i in np.linspace(0, len(numbers) - 1, 3)] if numbers else []
    for m in list(dict.fromkeys(keyed[:6] + spread, None)):
        for value in NUMBER_VALUES:
            found.append([f"number at {m.start()} -> {value.decode()}", "number", m.start(),
                          m.end(), value.decode()])  # fmt: skip
    if head <= 1024:  # a binary header: int32 fields
        for at in np.linspace(0, max(head - 4, 0), 4).astype(int) // 4 * 4:
            for value in INT32_VALUES:
                found.append([f"int32 at {at} -> {value}", "int32", int(at), value])
    found.append(["last quarter zeroed", "zero", int(n * 0.75), n])
    found.append(["last 1% zeroed", "zero", int(n * 0.99), n])
    found.append(["middle tenth zeroed", "zero", int(n * 0.45), int(n * 0.55)])
    found.append(["magic + random", "foreign", 16, "random", 4096])
    found.append(["header + random payload", "foreign", head, "random", n // 2])
    found.append(["magic + other file", "foreign", 64, "other", 0])
    return found


def _fix_ibw_checksum(data: bytearray) -> None:
    """Make an Igor v5 header's checksum right again (so edits reach the reader)."""
    if len(data) >= 384 and struct.unpack_from("<h", data, 0)[0] == 5:
        struct.pack_into("<h", data, 2, 0)
        total = int(np.frombuffer(bytes(data[:384]), "<i2").astype(np.int64).sum())
        struct.pack_into("<H", data, 2, (-total) % 65536)


def mutate(data: bytes, mutation: list, other: bytes, seed: int) -> bytes:
    """``data`` with ``mutation`` (one of :func:`cases`) applied."""
    _, kind, *args = mutation
    out = bytearray(data)
    if kind == "truncate":
        return bytes(out[: args[0]])
    if kind == "flip":
        out[args[0]] ^= args[1]
    elif kind == "number":
        out[args[0] : args[1]] = args[2].encode()
    elif kind == "int32":
        struct.pack_into("<i", out, args[0], args[1])
    elif kind == "zero":
        out[args[0] : args[1]] = bytes(args[1] - args[0])
    elif kind == "foreign":
        rng = np.random.default_rng(seed)
        tail = rng.bytes(args[2]) if args[1] == "random" else other
        return bytes(out[: args[0]]) + tail
    _fix_ibw_checksum(out)
    return bytes(out)


def cap_child() -> None:
    """Cap this (child) process's address space and arm the per-case alarm's handler."""
    import resource
    import signal

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    def timeout(*_):
        raise TimeoutError(f"no answer within {CASE_TIMEOUT_S} s")

    signal.signal(signal.SIGALRM, timeout)


def guarded_open(open_file, path, success: str) -> dict:
    """``open_file(path)`` under the per-case alarm: ``{"outcome", "names_file", "detail"}``,
    the outcome ``success``, ``"FormatError"``, ``"ChannelError"`` or ``"other"``; the detail
    the warnings naming the file (on success) or the error."""
    import signal
    import warnings

    from stswidgets.io import ChannelError, FormatError

    outcome, detail = success, ""
    signal.alarm(CASE_TIMEOUT_S)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            open_file(path)
        detail = " | ".join(str(w.message) for w in caught if str(path) in str(w.message))
    except FormatError as error:
        outcome, detail = "FormatError", str(error)
    except ChannelError as error:
        outcome, detail = "ChannelError", str(error)
    except BaseException as error:  # noqa: BLE001 - the test reports every other outcome
        outcome, detail = "other", f"{type(error).__name__}: {error}"
    finally:
        signal.alarm(0)
    return {"outcome": outcome, "names_file": str(path) in detail, "detail": detail[:300]}


def _child() -> None:
    import tempfile
    from pathlib import Path

    cap_child()
    from stswidgets.io import open_grid

    todo = json.load(sys.stdin)
    sources: dict[str, bytes] = {}
    folder = Path(tempfile.mkdtemp(prefix="fuzz"))
    for case_id, source, other, suffix, seed, mutation in todo:
        for name in (source, other):
            if name not in sources:
                sources[name] = Path(name).read_bytes()
        path = folder / f"case{case_id}{suffix}"
        path.write_bytes(mutate(sources[source], mutation, sources[other], seed))
        print(json.dumps({"id": case_id, "started": True}), flush=True)
        record = guarded_open(open_grid, path, "grid")
        print(json.dumps({"id": case_id, **record}), flush=True)
        path.unlink()


if __name__ == "__main__":
    _child()
