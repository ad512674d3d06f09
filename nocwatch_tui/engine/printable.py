"""Text from targets, servers and files made safe to print on a terminal."""

_C1_CONTROLS = range(0x80, 0xA0)


def printable(text: str) -> str:
    """Return `text` with every control character written as a visible `\\xNN` escape.

    An escape sequence such as ESC [ 2 J then shows as `\\x1b[2J` instead of clearing
    the screen. Spaces stay, while tabs and line breaks are escaped like the rest.
    """
    return "".join(
        char
        if char == " " or (char.isprintable() and ord(char) not in _C1_CONTROLS)
        else f"\\x{ord(char):02x}"
        for char in text
    )
