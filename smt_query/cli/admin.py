"""``smt admin``: the Django admin over the project's records, in a browser."""
import socket
import sys

import click

from . import Command, user_errors
from .output import note

EXAMPLES = """
\b
Examples:
  smt admin --create-user ada          # once: make an account (asks for a password)
  smt admin                            # then open http://127.0.0.1:8000/
  smt admin --port 8123
  echo "$PASSWORD" | smt admin --create-user ci-bot
"""


@click.command(cls=Command, epilog=EXAMPLES, context_settings={"max_content_width": 100})
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address is reachable "
                   "from other machines (plain HTTP): a warning is printed.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Requests served at once.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Also answer requests for NAME (the host name or address clients use, "
                   "e.g. behind a proxy; '.example.org' takes its subdomains too). "
                   "Repeatable. Without it: the loopback names, the --host address, and for "
                   "0.0.0.0 or :: this machine's names and addresses; other Host headers "
                   "get 400 Bad Request.")
@click.option("--create-user", metavar="NAME",
              help="Create the account NAME and exit. The password is asked for, or read "
                   "from the first line of stdin when it is piped.")
def admin(host, port, threads, allowed_hosts, create_user):
    """Browse, filter, tag and compare the project's records in a browser.

    Serves the Django admin over the record store of the Sumatra project in
    the current directory, with a production WSGI server (waitress) and
    DEBUG off. Every page needs a login; accounts live in .smt/admin.sqlite3,
    apart from the records, whose database schema is left untouched.
    """
    with user_errors():
        if create_user is None:
            _require("waitress", "whitenoise")
            _resolve(host, port)
        from ..admin.wsgi import setup
        source = setup(host=host, allowed_hosts=allowed_hosts)
        from ..admin import accounts
        if create_user is not None:
            accounts.create_user(create_user, _read_password())
            note(f"Created account {create_user!r} for the admin of project {source.name!r}.")
            return
        if not accounts.has_users():
            raise click.ClickException(
                "no account can log in yet; create one first: smt admin --create-user NAME")
        _serve(source, host, port, threads)


def _require(*modules):
    import importlib.util
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise click.ClickException(
            f"smt admin needs {' and '.join(missing)}: pip install {' '.join(missing)}")


def _resolve(host, port):
    """Fail in one line, before anything is set up, if ``host`` is no address
    of this machine's resolver (a misspelt name, ``nonexistent.invalid``)."""
    if not host:
        return   # every interface, as waitress reads it
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise click.ClickException(f"cannot listen on {host!r}: {reason}") from None


def _read_password():
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("no password on stdin")
    return line


def is_loopback(host):
    """True if ``host`` only reaches this machine (:func:`smt_query.admin.settings.is_loopback`)."""
    from ..admin.settings import is_loopback as rule
    return rule(host)


def _serve(source, host, port, threads):
    import logging
    from django.core.wsgi import get_wsgi_application
    from waitress import create_server
    app = get_wsgi_application()
    try:
        server = create_server(app, host=host, port=port, threads=threads,
                               ident="smt-admin", clear_untrusted_proxy_headers=True)
    except (OSError, ValueError) as err:   # waitress: ValueError for a host it cannot use
        raise click.ClickException(f"cannot listen on {host}:{port}: "
                                   f"{getattr(err, 'strerror', None) or err}") from None
    logging.getLogger("waitress").setLevel(logging.ERROR)
    if not is_loopback(host):
        note(f"Warning: listening on {host}, reachable from other machines, over plain HTTP "
             "(passwords and session cookies travel unencrypted). Prefer the default "
             "127.0.0.1 and an SSH tunnel, or put an HTTPS proxy in front.")
        from django.conf import settings
        note(f"Answering requests for {', '.join(settings.ALLOWED_HOSTS)} only "
             "(add names with --allowed-host).")
    address = server.effective_host, server.effective_port
    shown = f"[{address[0]}]" if ":" in str(address[0]) else address[0]
    note(f"Serving the admin of project {source.name!r} at http://{shown}:{address[1]}/ "
         "(Ctrl-C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
