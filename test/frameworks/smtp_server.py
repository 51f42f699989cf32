"""A real SMTP server (aiosmtpd) for the email alert test: STARTTLS required, or implicit TLS, with AUTH.

Arguments: PORT MODE CERT KEY USER PASSWORD, MODE being "starttls" or "tls". It prints one JSON line when it
listens, and one for each message it accepts (envelope, who logged in, whether the session was encrypted).
"""

import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, mode, cert, key, user, password = sys.argv[1:7]


def emit(what: str, **fields) -> None:
    print(json.dumps({"what": what, **fields}, ensure_ascii=False), flush=True)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    # handled=False: aiosmtpd answers 535 itself (by default it leaves that to the authenticator).
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        emit(
            "message",
            mail_from=envelope.mail_from,
            rcpt_tos=envelope.rcpt_tos,
            data=envelope.content.decode("utf8", errors="replace"),
            login=session.auth_data,
            tls=server.transport.get_extra_info("ssl_object") is not None,
        )
        return "250 OK"


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
common = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator, auth_required=True)
if mode == "tls":
    # The whole session is encrypted, which aiosmtpd's STARTTLS-only check for AUTH does not know.
    controller = Controller(Handler(), ssl_context=context, server_hostname="localhost", auth_require_tls=False, **common)
else:
    controller = Controller(Handler(), tls_context=context, require_starttls=True, server_hostname="localhost", **common)
controller.start()
emit("listening", port=int(port), mode=mode)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    controller.stop()
