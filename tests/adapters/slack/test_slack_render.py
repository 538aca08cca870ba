"""Refusals and errors are rendered plainly; text is escaped; long answers fit Slack's limits."""

from __future__ import annotations

from types import SimpleNamespace

from assistant.answer import Answer, Citation, Refusal


def test_a_refusal_is_one_plain_section_with_what_to_ask_instead():
    from adapters.slack.render import answer_message

    answer = Answer(session_id="s", text="I can't share the model's coefficients.", refused=True,
                    refusal=Refusal(category="extraction", reason="I can't share the model's coefficients.",
                                    alternative="Ask why one customer is in their tier instead."))
    message = answer_message(answer, "a1")
    section, buttons = message.blocks
    assert section["type"] == "section" and "fields" not in section
    assert "I can't help with that." in section["text"]["text"] and "Ask why one customer" in section["text"]["text"]
    assert buttons["type"] == "actions"  # a wrongful refusal can still be reported
    assert "*" not in message.text


def test_a_refusal_raised_by_the_guardrails_is_answered_plainly(tmp_path):
    from adapters.slack import SlackDeps
    from adapters.slack.listeners import _answer
    from assistant.answer import Principal
    from assistant.config import load_settings
    from assistant.errors import Refused
    from assistant.feedback import FeedbackStore

    class Guarded:  # what the guardrails do inside Assistant.answer when they decline
        def answer(self, *args, **kwargs):
            raise Refused("That looks like a sweep of the model's inputs.", category="extraction",
                          alternative="Ask about one customer at a time.")

    feedback = FeedbackStore(tmp_path / "feedback.sqlite")
    deps = SlackDeps.from_settings(load_settings(data_dir=tmp_path), SimpleNamespace(assistant=Guarded(),
                                                                                      feedback=feedback))
    message, private = _answer(deps, Principal(id="eve", channel="slack"), "sweep", "slack:T:C:1.0")
    assert not private
    assert "sweep of the model's inputs" in message.blocks[0]["text"]["text"]
    assert "one customer at a time" in message.blocks[0]["text"]["text"]
    deps.close()
    feedback.close()


def test_document_text_cannot_ping_the_channel_and_markdown_becomes_mrkdwn():
    from adapters.slack.render import answer_message

    answer = Answer(session_id="s", text="**Low** risk <!channel> see [the card](https://wiki.example/card)\n- one",
                    citations=[Citation(doc_id="d", title="A <b> title", doc_type="model_card", snippet="")])
    blocks = answer_message(answer).blocks
    body = blocks[0]["text"]["text"]
    assert body.startswith("*Low* risk &lt;!channel&gt;") and "<https://wiki.example/card|the card>" in body
    assert "• one" in body
    assert blocks[1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "[1] *A &lt;b&gt; title* · model card"}]}


def test_a_long_answer_is_split_into_sections_slack_accepts():
    from adapters.slack.render import SECTION_CHARS, answer_message

    text = "\n\n".join(f"Paragraph {i}: " + "word " * 300 for i in range(8))
    blocks = answer_message(Answer(session_id="s", text=text)).blocks
    assert len(blocks) > 1 and all(len(b["text"]["text"]) <= SECTION_CHARS for b in blocks)
    assert "".join(b["text"]["text"] for b in blocks).count("Paragraph") == 8
