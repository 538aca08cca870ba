"""A stand-in for an OpenAI-compatible LLM endpoint, at its HTTP boundary: a real HTTP server on a loopback
port that records every request and answers `POST /v1/chat/completions` as a test script says — canned
tool calls, text with fabricated numbers or tiers, malformed calls, errors, or no answer in time."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Responder = Callable[[dict[str, Any]], "Response"]


class Response:
    def __init__(self, body: dict[str, Any] | None = None, *, status: int = 200, delay: float = 0.0):
        self.body, self.status, self.delay = body, status, delay


def completion(message: dict[str, Any], *, prompt_tokens: int = 120, completion_tokens: int = 30) -> dict[str, Any]:
    return {"id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": "stand-in",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def text(content: str) -> Response:
    """A reply with text and no tool call."""
    return Response(completion({"role": "assistant", "content": content}))


def calls(*pairs: tuple[str, Any]) -> Response:
    """Tool calls; an argument that is a str is sent as written (so it may be malformed JSON)."""
    tool_calls = [{"id": f"call_{i}", "type": "function",
                   "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
                  for i, (name, args) in enumerate(pairs)]
    return Response(completion({"role": "assistant", "content": None, "tool_calls": tool_calls}))


def user_text(request: dict[str, Any]) -> str:
    """The last user message the endpoint received."""
    return next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")


class StandIn:
    """`respond(fn)` sets how requests are answered; `requests` holds what arrived (body and headers)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responder: Responder = lambda request: text("")
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append({"path": self.path, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()}})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                reply = owner.responder(body)
                if reply.delay:
                    time.sleep(reply.delay)
                self._send(reply.status, reply.body or {"error": {"message": "stand-in failure"}})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a time-out test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def respond(self, responder: Responder) -> None:
        self.responder = responder

    def planning(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["body"].get("tools")]

    def writing(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if not r["body"].get("tools")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
