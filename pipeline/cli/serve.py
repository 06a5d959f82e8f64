"""``pipeline serve``: the web desk on the workspace, until SIGTERM (then exit 0)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import click

from pipeline.cli.common import load, main, workspace_option

GRACE = 30  # seconds the requests in hand get when the desk stops (then app.STOP_WAIT)


@main.command()
@workspace_option
@click.option("--host", help="Address to listen on (default: [web] host, else 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Port (default: [web] port, else 8080; 0: any free port).")
@click.option("--certfile", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="TLS certificate (PEM); with --keyfile the desk is served over HTTPS.")
@click.option("--keyfile", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="TLS private key (PEM) of --certfile.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, certfile: Path | None,
          keyfile: Path | None) -> None:
    """Serve the web desk (director, webmaster, staff, auditor, admin) in the browser.

    Runs beside `pipeline watch`; both share the journal. Prints the address it listens
    on, then serves until stopped (SIGTERM or Ctrl-C), finishing the requests in hand.
    """
    import uvicorn

    from pipeline.desk.app import make_app

    if (certfile is None) != (keyfile is None):
        raise click.UsageError("--certfile and --keyfile go together")
    config = load(ctx)
    host = host or config.web.host
    port = config.web.port if port is None else port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it a small page on a kept-alive connection waits 40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # from here a browser's connection waits for the server
    except OSError as exc:
        raise click.ClickException(f"เปิดพอร์ต {host}:{port} ไม่ได้ / cannot listen on "
                                   f"{host}:{port}: {exc.strerror}") from None
    bound = sock.getsockname()[1]
    scheme = "https" if certfile is not None else "http"
    # behind a proxy that terminates TLS (base_url https), cookies are Secure as well
    secure = certfile is not None or config.web.base_url.startswith("https://")
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    server = uvicorn.Server(uvicorn.Config(
        make_app(config, secure=secure), log_config=None, access_log=False,
        proxy_headers=False,  # client addresses: [web] trusted_proxies, in the desk
        ssl_certfile=certfile, ssl_keyfile=keyfile, timeout_graceful_shutdown=GRACE))
    click.echo(f"โต๊ะงานเผยแพร่ข้อมูลพร้อมใช้ที่ / the desk is serving at "
               f"{scheme}://{shown}:{bound}/", err=False)
    # uvicorn shuts down gracefully on SIGTERM or SIGINT, then raises the signal again
    # under the handlers it found: these make that a normal end (exit 0), as a service
    # manager expects of a stop it asked for
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda signum, frame: None)
    server.run(sockets=[sock])
    click.echo("หยุดให้บริการแล้ว / the desk has stopped")
