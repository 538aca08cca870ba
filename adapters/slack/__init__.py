"""Slack adapter (Bolt): mentions, DMs, threads and `/modeldesk`, answered by the same Assistant as HTTP.

`build_app` makes the Bolt app; `http_mode.mount` serves it at `POST /slack/events` in the FastAPI
app, `socket_mode.run` connects it over Socket Mode (`modeldesk slack`). Listeners are wired in
`listeners.register`, Block Kit is made from the typed `Answer` in `render`.
"""

from adapters.slack.app import SlackDeps, build_app, web_client

__all__ = ["SlackDeps", "build_app", "web_client"]
