"""Settings read from the environment, once, at first use."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from chalicelib import auth, budget, limits, protocol
from chalicelib.blobs import DEFAULT_BLOBS
from chalicelib.turn import DEFAULT_UPLOAD_TYPES, AttachmentRules

DEFAULT_STORE = "sqlite:///.chat/chat.db"


@dataclass(frozen=True)
class Settings:
    store_url: str
    max_text: int
    scrypt_cost: auth.ScryptCost
    log_level: str
    limits: limits.Limits = field(default_factory=limits.Limits)
    frame_budget: int = budget.DEFAULT_BUDGET
    edit_window: float = protocol.DEFAULT_EDIT_WINDOW
    # attachments (issue 14): CHAT_BLOBS names the storage; "off" turns them off
    blobs_url: str = DEFAULT_BLOBS
    attachments: AttachmentRules = field(default_factory=AttachmentRules)

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
            limits=limits_from_env(env),
            frame_budget=int(env.get("CHAT_FRAME_BUDGET", budget.DEFAULT_BUDGET)),
            edit_window=float(env.get("CHAT_EDIT_WINDOW", protocol.DEFAULT_EDIT_WINDOW)),
            blobs_url=env.get("CHAT_BLOBS") or DEFAULT_BLOBS,
            attachments=attachment_rules_from_env(env),
        )

    def __post_init__(self) -> None:
        low, high = budget.minimum_budget(self.max_text), budget.FRAME_LIMIT
        if not low <= self.frame_budget <= high:
            raise ValueError(
                f"CHAT_FRAME_BUDGET must be {low} to {high} bytes"
                f" (at least one message of CHAT_MAX_TEXT={self.max_text} characters"
                f" must fit a frame), not {self.frame_budget}"
            )


# environment variable -> (Limits field, default); values are "<hits>/<seconds>" or "off"
LIMIT_VARIABLES = {
    "CHAT_LIMIT_LOGIN": ("login", limits.LOGIN),
    "CHAT_LIMIT_LOGIN_IP": ("login_ip", limits.LOGIN_IP),
    "CHAT_LIMIT_REGISTER_IP": ("register_ip", limits.REGISTER_IP),
    "CHAT_LIMIT_SEND": ("send", limits.SEND),
    "CHAT_LIMIT_SIGN_IN": ("sign_in", limits.SIGN_IN),
    "CHAT_LIMIT_UPLOAD": ("upload", limits.UPLOAD),
}


def limits_from_env(env: os._Environ[str] | dict[str, str]) -> limits.Limits:
    chosen: dict[str, Any] = {}
    for variable, (name, default) in LIMIT_VARIABLES.items():
        text = env.get(variable)
        chosen[name] = limits.parse_limit(default.scope, text) if text else default
    # seconds between typing pushes per recipient; 0 turns it off
    chosen["typing_interval"] = float(env.get("CHAT_TYPING_INTERVAL", limits.TYPING_INTERVAL))
    return limits.Limits(**chosen)


def attachment_rules_from_env(env: os._Environ[str] | dict[str, str]) -> AttachmentRules:
    defaults = AttachmentRules()
    types = env.get("CHAT_UPLOAD_TYPES")
    return AttachmentRules(
        max_size=int(env.get("CHAT_MAX_UPLOAD", defaults.max_size)),
        types=tuple(t.strip().lower() for t in types.split(",") if t.strip())
        if types
        else DEFAULT_UPLOAD_TYPES,
        download_ttl=int(env.get("CHAT_DOWNLOAD_TTL", defaults.download_ttl)),
        upload_ttl=float(env.get("CHAT_UPLOAD_TTL", defaults.upload_ttl)),
    )
