"""Serve the classroom app (:mod:`bondsim.app`): the port and config are checked, then Solara's server takes over."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from ..app.classroom import ADDRESS_ENV, CODE_ENV, KEY_ENV, new_code, new_key
from ..app.config import CONFIG_ENV, ENGINE_ENV, default_engine
from ..errors import UserError
from ..extras import require
from ..params import load

ASSETS = Path(__file__).resolve().parents[1] / "app" / "assets"  # the CDN files the page loads


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim app``."""
    parser.add_argument("--port", type=_port, default=8765, help="port to serve on (default 8765)")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1; with --class 0.0.0.0)")
    parser.add_argument(
        "--class",
        dest="classroom",
        action="store_true",
        help="serve the class's network (0.0.0.0): prints the address students type, its QR code and the class code",
    )
    parser.add_argument(
        "--engine",
        choices=("array", "agents"),
        default=None,
        help="the model's engine (default array if bondsim[array] is installed, else agents)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="TOML file whose mechanisms, drugs and parameters every lesson starts from"
    )


def _check_free(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UserError(f"--host {host}: unknown address") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            sock.bind(address)
        except OSError as exc:
            raise UserError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def command(args: argparse.Namespace) -> int:
    """Serve the app with Solara in production mode until interrupted (replaces this process)."""
    classroom = bool(getattr(args, "classroom", False))
    args.host = args.host or ("0.0.0.0" if classroom else "127.0.0.1")
    require("app", "bondsim app")  # a missing install first: it is what to fix before anything else
    engine = getattr(args, "engine", None) or default_engine()
    if engine == "array":
        require("array", "bondsim app --engine array")
    _check_free(args.host, args.port)
    config = getattr(args, "config", None)
    if config:
        from ..model import check_model

        check_model(load(config))  # a bad config is one line here, not an error page in class
        config = os.path.abspath(config)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    code, key = os.environ.get(CODE_ENV) or new_code(), os.environ.get(KEY_ENV) or new_key()
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else shown
    address = ""
    if classroom or args.host in ("0.0.0.0", "::"):
        from ..app.qr import qr_terminal, student_url

        address = student_url(args.host, args.port, code)
    print(f"bondsim app: serving the classroom app at http://{shown}:{args.port} (Ctrl+C to stop)", flush=True)
    if address:
        print(f"bondsim app: students open {address} (class code {code})", flush=True)
        print(qr_terminal(address), end="", flush=True)
    print(f"bondsim app: the teacher's page is http://{local}:{args.port}/teacher?key={key}", flush=True)
    # no telemetry and no version check: the app must not call out (classrooms are often offline);
    # Solara warns about cookies on every page load over plain http, which is what localhost uses
    warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:Cookies with samesite"]))
    # no "runs on Solara" banner over the page; a closed tab's state is freed after a few minutes
    env = {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "PYTHONWARNINGS": warnings,
        "SOLARA_THEME_SHOW_BANNER": "False",
        "SOLARA_KERNEL_CULL_TIMEOUT": os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT", "3m"),
        # the page's scripts, style sheets and fonts, bundled with bondsim (tools/bundle_app_assets.py)
        "SOLARA_ASSETS_PROXY_CACHE_DIR": os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR", str(ASSETS)),
        ENGINE_ENV: engine,
        CODE_ENV: code,
        KEY_ENV: key,
        ADDRESS_ENV: address,
        **({CONFIG_ENV: config} if config else {}),
    }
    cmd = [
        sys.executable,
        "-m",
        "bondsim.app.server",  # solara run, with Ctrl-C as one line and exit status 130
        "bondsim.app.page",  # the module that defines Page (given the package, Solara would route to each module)
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]
    os.execve(sys.executable, cmd, env)  # Solara takes over this process: Ctrl+C and kill reach it directly
    return 0  # not reached
