"""A cap on the size of every request body, enforced as the bytes arrive.

Form uploads are spooled to disk by the multipart parser before any handler runs (the CSRF check
reads the form first), so a limit checked in a handler comes too late to protect the disk. This
middleware refuses a body whose declared length is over the limit before reading it, and stops
one that grows past the limit while it streams: the application sees the read fail, and whatever
it would have answered is replaced by ``413 Content Too Large``.

Routes with their own, protocol-level limits (the resumable evidence uploads, whose length is
declared and checked when the upload is created) are exempt by path prefix.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATUS = 413


class BodyTooLarge(Exception):
    """The request body went past the limit."""


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``limit`` bytes, except under ``exempt`` prefixes."""

    def __init__(self, app: ASGIApp, *, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    def _message(self) -> bytes:
        return (
            f"The request is larger than the {self.limit:,} bytes this service accepts in one "
            "request; for large evidence files use the resumable upload API "
            "(/api/evidence/uploads)."
        ).encode()

    async def _refuse(self, send: Send) -> None:
        body = self._message()
        await send(
            {
                "type": "http.response.start",
                "status": STATUS,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(send)
                return
        received = 0
        tripped = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, tripped
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    tripped = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if tripped:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(send)
                return  # whatever the application meant to say about the cut-off body
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                started = True
                await self._refuse(send)
        except Exception:
            if not tripped:
                raise
            if not started:
                await self._refuse(send)
