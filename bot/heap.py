"""Giving freed heap memory back to the operating system after the start-up's large, short-lived structures."""

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` from the symbols already loaded into the process, or None on another C library
    (musl, macOS), which has no such call."""
    try:
        call = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    call.argtypes, call.restype = [ctypes.c_size_t], ctypes.c_int
    return call


def trim() -> bool:
    """Return the free memory at the top and inside the C heap to the OS (glibc ``malloc_trim(0)``, see
    malloc_trim(3)); True when some was released, False when none was or the C library has no such call.

    glibc keeps memory freed by ``free()`` for reuse and returns it only when a large free block sits at the
    top of the heap; parsing the device registry frees tens of MB of small blocks in the middle of it (the
    YAML node tree), which stay resident without this call. Python's own small-object arenas are returned
    by Python when they empty; this reaches the rest."""
    call = _malloc_trim()
    return bool(call(0)) if call is not None else False
