"""The HTTP adapter: a FastAPI app that turns requests into `Assistant.answer` calls and answers into JSON.

`create_app(settings)` builds it; `modeldesk serve` and `modeldesk demo` run it with uvicorn.
"""

from adapters.http.app import create_app

__all__ = ["create_app"]
