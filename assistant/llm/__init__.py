"""The optional LLM backend: an OpenAI-compatible endpoint plans and phrases, ModelDesk keeps it grounded.

`LLMClient` (client.py) talks to `POST {base}/chat/completions` through LangChain with one deadline per
answer, retries with back-off and a circuit breaker; `LLMPlanner` (planner.py) turns its tool calls into a
checked plan (validation.py); `GroundedWriter` (writer.py) keeps its text only when the grounding check
(grounding.py) finds every fact in the tool results. `LLMStats` (stats.py) feeds /metrics.
"""

from assistant.llm.client import LLMClient, LLMError
from assistant.llm.stats import LLMStats

__all__ = ["LLMClient", "LLMError", "LLMStats"]
