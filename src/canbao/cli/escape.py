"""Text from the files users import, made safe to print.

Names, keys and file names may hold control characters (an ANSI escape that clears the screen or
recolours it, a carriage return that overwrites a line, a right-to-left override that reorders
it). Commands print them escaped as ``\\u001b`` (which is also what JSON would say: ``--json``
output stays valid JSON), never raw.
"""

# C0 controls but tab and newline (the commands' own layout), DEL, C1 controls, and the
# bidirectional overrides and isolates.
_UNSAFE = (
    [c for c in range(0x20) if chr(c) not in "\t\n"]
    + list(range(0x7F, 0xA0))
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
_ESCAPED = {code: f"\\u{code:04x}" for code in _UNSAFE}


def printable(text: str) -> str:
    """`text` with every control character written as its ``\\uXXXX`` escape."""
    return text.translate(_ESCAPED)
