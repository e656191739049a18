"""Settings read from the environment, once, at first use."""

from __future__ import annotations

import os
from dataclasses import dataclass

from chalicelib import auth, budget, protocol

DEFAULT_STORE = "sqlite:///.chat/chat.db"


@dataclass(frozen=True)
class Settings:
    store_url: str
    max_text: int
    scrypt_cost: auth.ScryptCost
    log_level: str
    frame_budget: int = budget.DEFAULT_BUDGET

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] = os.environ) -> Settings:
        return cls(
            store_url=env.get("CHAT_STORE", DEFAULT_STORE),
            max_text=int(env.get("CHAT_MAX_TEXT", protocol.DEFAULT_MAX_TEXT)),
            # test-only knob: a cheaper scrypt keeps suites that sign up many users fast
            scrypt_cost=auth.ScryptCost.parse(env["CHAT_SCRYPT_COST"])
            if env.get("CHAT_SCRYPT_COST")
            else auth.ScryptCost(),
            log_level=env.get("CHAT_LOG_LEVEL", "INFO"),
            frame_budget=int(env.get("CHAT_FRAME_BUDGET", budget.DEFAULT_BUDGET)),
        )

    def __post_init__(self) -> None:
        low, high = budget.minimum_budget(self.max_text), budget.FRAME_LIMIT
        if not low <= self.frame_budget <= high:
            raise ValueError(
                f"CHAT_FRAME_BUDGET must be {low} to {high} bytes"
                f" (at least one message of CHAT_MAX_TEXT={self.max_text} characters"
                f" must fit a frame), not {self.frame_budget}"
            )
