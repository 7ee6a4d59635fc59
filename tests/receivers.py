"""Real servers on 127.0.0.1 that receive what contentpulse sends: an SMTP server (aiosmtpd)
and a chat webhook (an HTTP server taking JSON POSTs). Each keeps what it received."""

from __future__ import annotations

import email
import json
import socket
import threading
from email.message import Message
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpReceiver:
    """aiosmtpd on a free loopback port; `messages` are the parsed mails. With `login`, the
    server accepts AUTH (over plain SMTP, as a local relay may) with that login/password."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                receiver.messages.append(
                    email.message_from_bytes(envelope.original_content, policy=default_policy)
                )
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (
                login is not None
                and (
                    auth_data.login.decode(),
                    auth_data.password.decode(),
                )
                == login
            )
            if ok:
                self.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        kwargs: dict[str, Any] = {}
        if login is not None:
            kwargs = {"authenticator": authenticate, "auth_require_tls": False}
        self.port = free_port()  # aiosmtpd's start() connects to its port to see it is up
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def connection(self, password: str = "", login: str = "") -> dict:
        """This server as an Airflow smtp connection (JSON form): no TLS on loopback."""
        return {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": self.port,
            "login": login,
            "password": password,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10, "retry_limit": 0},
        }


class WebhookReceiver:
    """An HTTP server on a free loopback port; `received` holds (path, JSON body) pairs."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.port = self._server.server_port
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"
