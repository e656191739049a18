"""Settings read from the environment, once, at first use."""

from __future__ import annotations

import os
from dataclasses import dataclass

from chalicelib import auth, protocol

DEFAULT_STORE = "sqlite:///.chat/chat.db"


@dataclass(frozen=True)
class Settings:
    store_url: str
    max_text: int
    scrypt_cost: auth.ScryptCost
    log_level: str
    edit_window: float = protocol.DEFAULT_EDIT_WINDOW

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
            edit_window=float(env.get("CHAT_EDIT_WINDOW", protocol.DEFAULT_EDIT_WINDOW)),
        )
