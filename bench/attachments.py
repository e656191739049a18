"""Part ``attachments``: the time to upload and deliver a 5 MB photo through the local
gateway (``python -m localgw``, the real app on a new SQLite file and the embedded blob
store in a new directory), two real WebSocket clients and their "browsers" (``requests``
sessions) on loopback.

One round: alice's ``upload`` frame -> the ``upload`` reply -> the multipart POST of the
photo (random bytes, image/jpeg) to the reply's url (relative, ``/blobs/``, resolved
against the gateway's base URL) -> alice's ``send`` with the attachment -> bob's
``message`` push -> bob's GET of the push's attachment url, whose bytes must be the
photo's. The clock runs from the upload frame to the last byte of bob's download. A
warm-up round (not counted) first, then median, min and max of the rounds. Figures are
printed, not checked: they depend on the machine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from websockets.asyncio.client import ClientConnection

from bench import servers
from bench.loadclient import sign_in

PHOTO_BYTES = 5 * 1024 * 1024  # 5 MB as the issue counts them (10 MB = 10,485,760 bytes)
PHOTO_TYPE = "image/jpeg"
ROUNDS = 5
QUICK_ROUNDS = 2
WARM_UP_ROUNDS = 1
FRAME_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 120.0
PHASES = ("upload_reply_ms", "post_ms", "send_to_push_ms", "download_ms", "total_ms")


async def _expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame of type ``kind``, skipping others (presence, ack...); an error
    frame ends the round."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT_S))
        if frame.get("type") == kind:
            return dict(frame)
        if frame.get("type") == "error":
            raise RuntimeError(f"waiting for {kind!r}, got {frame}")


def _post(browser: requests.Session, base_url: str, offer: dict[str, Any],
          photo: bytes) -> None:
    """What the browser client does: the upload's fields in order, the file last."""
    posted = browser.post(urljoin(base_url + "/", offer["url"]),
                          data=list(offer["fields"].items()),
                          files={"file": ("photo.jpg", photo, PHOTO_TYPE)},
                          timeout=HTTP_TIMEOUT_S)
    if not posted.ok:
        raise RuntimeError(f"POST {offer['url']}: {posted.status_code} {posted.text[:300]}")


def _get(browser: requests.Session, base_url: str, url: str) -> bytes:
    got = browser.get(urljoin(base_url + "/", url), timeout=HTTP_TIMEOUT_S)
    if got.status_code != 200:
        raise RuntimeError(f"GET {url}: {got.status_code} {got.text[:300]}")
    return got.content


async def deliver(base_url: str, alice: ClientConnection, bob: ClientConnection,
                  browsers: tuple[requests.Session, requests.Session], n: int
                  ) -> dict[str, Any]:
    """One photo from alice to bob; the time of each phase, in ms."""
    photo = secrets.token_bytes(PHOTO_BYTES)
    alice_browser, bob_browser = browsers
    marks = [time.perf_counter()]
    await alice.send(json.dumps({"action": "upload", "name": f"photo-{n}.jpg",
                                 "type": PHOTO_TYPE, "size": len(photo),
                                 "client_id": f"u{n}"}))
    offer = await _expect(alice, "upload")
    marks.append(time.perf_counter())
    await asyncio.to_thread(_post, alice_browser, base_url, offer, photo)
    marks.append(time.perf_counter())
    await alice.send(json.dumps({"action": "send", "to": "bob", "text": "",
                                 "client_id": f"c{n}", "attachment": offer["upload_id"]}))
    pushed = await _expect(bob, "message")
    marks.append(time.perf_counter())
    data = await asyncio.to_thread(_get, bob_browser, base_url, pushed["attachment"]["url"])
    marks.append(time.perf_counter())
    await _expect(alice, "ack")  # after the clock: alice's own confirmation
    steps = [(later - earlier) * 1000 for earlier, later in itertools.pairwise(marks)]
    return {
        **dict(zip(PHASES, [*steps, (marks[-1] - marks[0]) * 1000], strict=True)),
        "bytes_equal": data == photo,
        "attachment_id_matches": pushed["attachment"]["id"] == offer["upload_id"],
    }


async def _rounds(server: servers.Server, count: int) -> list[dict[str, Any]]:
    alice = await sign_in(server.ws_url, "alice")
    bob = await sign_in(server.ws_url, "bob")
    browsers = (requests.Session(), requests.Session())
    try:
        done = []
        for n in range(WARM_UP_ROUNDS + count):
            result = await deliver(server.base_url, alice, bob, browsers, n)
            if n >= WARM_UP_ROUNDS:
                done.append(result)
        return done
    finally:
        for browser in browsers:
            browser.close()
        await alice.close()
        await bob.close()


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for phase in PHASES:
        values = [r[phase] for r in rounds]
        out[phase] = {"median": statistics.median(values), "min": min(values),
                      "max": max(values)}
    out["mb_per_s_median"] = PHOTO_BYTES / 2**20 / (out["total_ms"]["median"] / 1000)
    return out


def run(quick: bool, log: Any = print) -> dict[str, Any]:
    count = QUICK_ROUNDS if quick else ROUNDS
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-attachments-") as tmp:
        workdir = Path(tmp)
        server = servers.start_gateway(
            f"sqlite:///{workdir / 'chat.db'}", workdir / "gateway.log",
            env={"CHAT_BLOBS": f"file:///{workdir / 'blobs'}"})
        try:
            rounds = asyncio.run(_rounds(server, count))
        except Exception as error:
            raise RuntimeError(f"the gateway's log ends:\n{server.log_tail(30)}") from error
        finally:
            server.stop()
    figures = summary(rounds)
    total = figures["total_ms"]
    log(f"  attachments: a {PHOTO_BYTES / 2**20:g} MB photo uploaded and delivered in"
        f" {total['median']:.0f} ms (median of {count}; min {total['min']:.0f},"
        f" max {total['max']:.0f}): "
        + ", ".join(f"{phase.removesuffix('_ms')} {figures[phase]['median']:.0f}"
                    for phase in PHASES[:-1]))
    return {
        "quick": quick,
        "duration_s": time.monotonic() - started,
        "photo_bytes": PHOTO_BYTES,
        "photo_type": PHOTO_TYPE,
        "rounds": rounds,
        "warm_up_rounds": WARM_UP_ROUNDS,
        "summary": figures,
        "checks": {"delivered_intact": all(r["bytes_equal"] and r["attachment_id_matches"]
                                           for r in rounds)},
    }
