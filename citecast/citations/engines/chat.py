"""Any OpenAI-compatible chat model without search: it cannot cite, only mention the brand."""

from __future__ import annotations

from typing import Any

from citecast.citations.engines.base import Answer, Engine


class ChatEngine(Engine):
    kind = "chat"
    can_cite = False

    def __init__(self, client: Any, model: str, name: str = "chat"):
        self.client, self.model, self.name = client, model, name

    def ask(self, query: str) -> Answer:
        resp = self.client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": query}])
        text = (resp.choices[0].message.content or "") if resp.choices else ""
        return Answer(text, [], getattr(resp, "model", None) or self.model)
