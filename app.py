"""Lambda entry point: the three WebSocket handlers of the chat.

Each handler hands its event to the ChatService (chalicelib/service.py), which
runs parse -> decide -> store -> deliver. The service is built on first use, so
the store named by CHAT_STORE is opened once per Lambda container.
"""

from __future__ import annotations

from functools import cache

import boto3
from chalice.app import Chalice, WebsocketEvent

from chalicelib import logs
from chalicelib.blobs import open_blobs
from chalicelib.chat import Chat, ChatConfig
from chalicelib.endpoint import OverridableWebsocketAPI
from chalicelib.service import ChatService
from chalicelib.settings import Settings
from chalicelib.store import open_store
from chalicelib.store.prepare import prepare_local as prepare_local  # localgw calls it

app = Chalice(app_name="serverless-chat")
app.experimental_feature_flags.update(["WEBSOCKETS"])
# Before any handler is registered: the handlers keep the object they were given.
app.websocket_api = OverridableWebsocketAPI()
app.websocket_api.session = boto3.Session()


@cache
def service() -> ChatService:
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    chat = Chat(
        open_store(settings.store_url),
        ChatConfig(
            max_text=settings.max_text,
            scrypt_cost=settings.scrypt_cost,
            limits=settings.limits,
            frame_budget=settings.frame_budget,
            edit_window=settings.edit_window,
            attachments=settings.attachments,
        ),
        blobs=open_blobs(settings.blobs_url),
    )
    return ChatService(chat, app.websocket_api.send)


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> None:
    service().on_connect(event.connection_id, event.to_dict())


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    service().on_disconnect(event.connection_id, event.to_dict())


@app.on_ws_message()
def message(event: WebsocketEvent) -> None:
    service().on_message(event.connection_id, event.to_dict())
