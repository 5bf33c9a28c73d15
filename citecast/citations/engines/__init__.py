"""Answer engines: one module per API, built from `[citations.engines.<name>]` settings.

    base        Engine, Answer (text, citations, retrieved sources, queries, model, cost), Prices
    openai      OpenAI Responses + web_search          (openai SDK)
    perplexity  Perplexity Sonar chat or Agent API      (openai SDK)
    gemini      Gemini + Grounding with Google Search   (google-genai SDK)
    anthropic   Claude + the web search tool            (anthropic SDK)
    chat        any OpenAI-compatible chat model: mentions only, it cannot cite
    redirects   Gemini's grounding redirect links -> the pages' URLs (cached)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Sequence

from citecast.citations.engines.base import Answer, Engine, EngineError, Prices, Usage

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger
    from citecast.settings import Citations, EngineSettings

KEY_ENV = {"openai_search": "OPENAI_API_KEY", "perplexity": "PERPLEXITY_API_KEY", "chat": "OPENAI_API_KEY",
           "gemini": "GEMINI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
OPENAI_COMPATIBLE = ("openai_search", "chat")
PERPLEXITY_CHAT_URL = "https://api.perplexity.ai"


def build_engine(name: str, cfg: "EngineSettings", citations: "Citations", env: dict[str, str] | None = None,
                 ledger: "Ledger | None" = None) -> Engine:
    env = dict(os.environ) if env is None else env
    key_env = cfg.api_key_env or KEY_ENV[cfg.kind]
    key = env.get(key_env, "")
    if not key:
        raise EngineError(
            f"engine {name!r}: no key found - set the {key_env} variable"
            f" (or api_key_env under [citations.engines.{name}])"
        )
    prices = Prices(cfg.input_per_mtok, cfg.output_per_mtok, cfg.per_search)
    timeout, retries = citations.timeout_seconds, citations.max_retries
    if cfg.kind == "gemini":
        from citecast.citations.engines.gemini import GeminiEngine, make_gemini_client
        from citecast.citations.engines.redirects import LedgerCache, RedirectResolver

        resolver = RedirectResolver(citations.redirect_prefixes, timeout=timeout, retries=retries,
                                    cache=LedgerCache(ledger) if ledger is not None else None)
        client = make_gemini_client(api_key=key, base_url=cfg.base_url, timeout=timeout, max_retries=retries)
        return GeminiEngine(client, cfg.model, name, resolver=resolver, prices=prices)
    if cfg.kind == "anthropic":
        from citecast.citations.engines.anthropic import AnthropicEngine, make_anthropic_client

        client = make_anthropic_client(api_key=key, base_url=cfg.base_url, timeout=timeout, max_retries=retries)
        return AnthropicEngine(client, cfg.model, name, max_tokens=cfg.max_tokens, max_uses=cfg.max_uses,
                               prices=prices)
    from citecast.citations.engines.openai import make_openai_client

    base_url = cfg.base_url or (env.get("OPENAI_BASE_URL", "") if cfg.kind in OPENAI_COMPATIBLE else "")
    if cfg.kind == "perplexity" and cfg.api == "responses" and base_url.rstrip("/") == PERPLEXITY_CHAT_URL:
        base_url = PERPLEXITY_CHAT_URL + "/v1"  # the Agent API lives under /v1, chat completions at the root
    client = make_openai_client(api_key=key, base_url=base_url, timeout=timeout, max_retries=retries)
    if cfg.kind == "openai_search":
        from citecast.citations.engines.openai import OpenAISearchEngine

        return OpenAISearchEngine(client, cfg.model, name, cfg.include_sources, prices=prices)
    if cfg.kind == "perplexity":
        from citecast.citations.engines.perplexity import PerplexityEngine

        return PerplexityEngine(client, cfg.model, name, api=cfg.api, prices=prices)
    from citecast.citations.engines.chat import ChatEngine

    return ChatEngine(client, cfg.model, name)


def build_engines(citations: "Citations", names: Sequence[str] | None = None, env: dict[str, str] | None = None,
                  ledger: "Ledger | None" = None) -> tuple[list[Engine], list[str]]:
    """The configured engines that can run, and a notice for each one that cannot."""
    engines: list[Engine] = []
    notices: list[str] = []
    wanted = list(names) if names else [n for n, c in citations.engines.items() if c.enabled]
    for name in wanted:
        cfg = citations.engines.get(name)
        if cfg is None:
            notices.append(f"engine {name!r} is not configured: known {sorted(citations.engines)}")
            continue
        try:
            engines.append(build_engine(name, cfg, citations, env, ledger))
        except EngineError as exc:
            notices.append(str(exc))
    return engines, notices


__all__ = ["Answer", "Engine", "EngineError", "KEY_ENV", "Prices", "Usage", "build_engine", "build_engines"]
