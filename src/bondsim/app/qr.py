"""The address students type, and its QR code (SVG, drawn here: nothing is fetched)."""

from __future__ import annotations

import socket


def lan_addresses() -> list[str]:
    """This computer's IPv4 addresses on its networks (not the loopback), best guess first.

    The first is the address of the interface that would carry traffic to another network (found by
    connecting a UDP socket, which sends nothing); then the host name's addresses.
    """
    found: list[str] = []
    for probe in ("10.255.255.255", "192.168.255.255", "172.31.255.255"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 1))
                address = sock.getsockname()[0]
        except OSError:
            continue
        if address not in found and not address.startswith("127."):
            found.append(address)
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = info[4][0]
            if address not in found and not address.startswith("127."):
                found.append(address)
    except OSError:
        pass
    return found


def student_url(host: str, port: int, code: str) -> str:
    """The address students open: this computer on the class's network, with the class code."""
    if host in ("0.0.0.0", "::", ""):
        addresses = lan_addresses()
        host = addresses[0] if addresses else socket.gethostname()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?class={code}"


def qr_svg(text: str, scale: int = 6) -> str:
    """A QR code of ``text`` as inline SVG (segno, the app extra's pure-Python QR library)."""
    import segno

    return segno.make(text, error="m", micro=False).svg_inline(scale=scale, dark="#000", light="#fff")


def qr_terminal(text: str) -> str:
    """A QR code of ``text`` drawn with block characters, for a terminal."""
    import io

    import segno

    buffer = io.StringIO()
    segno.make(text, error="m", micro=False).terminal(out=buffer, compact=True)
    return buffer.getvalue()
