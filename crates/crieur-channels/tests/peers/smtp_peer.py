"""An aiosmtpd 1.4.6 server for crieur-channels' SMTP tests.

    python3 smtp_peer.py PORTFILE LOGFILE [--tls starttls|implicit --cert CERT --key KEY]
                         [--idle-timeout SECONDS]

Listens on 127.0.0.1 port 0 and writes the port to PORTFILE once listening.
Appends one JSON object per line to LOGFILE: {"event": "connect"|"disconnect",
"conn": n} per TCP connection, {"event": "noop", "conn": n} per NOOP, and
{"event": "message", ...} per accepted message
with the envelope, the raw content and the content as Python's email parser
reads it. A connection idle longer than --idle-timeout (default 300 s) is
closed silently, as aiosmtpd does. One login is accepted: crieur / secret (AUTH PLAIN or LOGIN; with
STARTTLS only once encrypted).

Faults by the recipient's local part:
  tempfail...  451 at RCPT for the first two tries of that address
  bounce...    550 at RCPT
  drop...      connection closed at RCPT, without a reply
  hangup...    connection closed once the message content is received, without a reply
  slow...      the reply to the content comes after 3 seconds
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult


class Peer:
    def __init__(self, log):
        self.log_file = log
        self.tries = {}
        self.connections = 0

    def log(self, record):
        self.log_file.write(json.dumps(record) + "\n")
        self.log_file.flush()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        n = self.tries[address] = self.tries.get(address, 0) + 1
        if local.startswith("tempfail") and n <= 2:
            return "451 4.3.0 Try again later"
        if local.startswith("bounce"):
            return "550 5.1.1 No such user"
        if local.startswith("drop"):
            server.transport.close()
            await asyncio.sleep(3600)  # cancelled when the connection is lost
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_NOOP(self, server, session, envelope, arg):
        self.log({"event": "noop", "conn": server.conn})
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        local = envelope.rcpt_tos[0].split("@", 1)[0] if envelope.rcpt_tos else ""
        if local.startswith("hangup"):
            server.transport.close()
            await asyncio.sleep(3600)
        self.log(dict(event="message", conn=server.conn, **describe(envelope)))
        if local.startswith("slow"):
            await asyncio.sleep(3)
        return "250 2.0.0 Queued"


def describe(envelope):
    raw = envelope.content
    # Parsed with universal newlines so texts read as they were written.
    msg = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)

    def header(name):
        value = msg[name]
        return None if value is None else str(value)

    parts = [
        {"content_type": part.get_content_type(), "text": part.get_content()}
        for part in msg.walk()
        if not part.is_multipart()
    ]
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": envelope.rcpt_tos,
        "mail_options": envelope.mail_options,
        "content": raw.decode("utf-8", "replace"),
        "subject": header("subject"),
        "from": header("from"),
        "to": header("to"),
        "date": header("date"),
        "message_id": header("message-id"),
        "content_type": msg.get_content_type(),
        "list_unsubscribe": header("list-unsubscribe"),
        "list_unsubscribe_post": header("list-unsubscribe-post"),
        "parts": parts,
        "defects": [str(d) for d in msg.defects],
    }


def authenticate(server, session, envelope, mechanism, data):
    ok = (data.login, data.password) == (b"crieur", b"secret")
    # handled=False: aiosmtpd itself answers 535 to a failure.
    return AuthResult(success=ok, handled=False)


class PeerSMTP(SMTP):
    """One instance per TCP connection; logs when it starts and ends."""

    def __init__(self, peer, **kwargs):
        super().__init__(peer, **kwargs)
        peer.connections += 1
        self.peer, self.conn, self.logged_lost = peer, peer.connections, False

    def connection_made(self, transport):
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self.peer.log({"event": "connect", "conn": self.conn})

    def connection_lost(self, error):
        super().connection_lost(error)
        if not self.logged_lost:
            self.logged_lost = True
            self.peer.log({"event": "disconnect", "conn": self.conn})


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("portfile")
    parser.add_argument("logfile")
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--idle-timeout", type=float, default=300)
    args = parser.parse_args()

    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    peer = Peer(open(args.logfile, "a", encoding="utf-8"))

    def factory():
        return PeerSMTP(
            peer,
            hostname="peer.crieur.test",
            tls_context=context if args.tls == "starttls" else None,
            authenticator=authenticate,
            # AUTH only once encrypted under STARTTLS; aiosmtpd cannot tell an
            # implicit TLS socket from a plain one, hence False otherwise.
            auth_require_tls=args.tls == "starttls",
            timeout=args.idle_timeout,
        )

    server = await asyncio.get_running_loop().create_server(
        factory,
        "127.0.0.1",
        0,
        ssl=context if args.tls == "implicit" else None,
    )
    port = server.sockets[0].getsockname()[1]
    with open(args.portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(args.portfile + ".tmp", args.portfile)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
