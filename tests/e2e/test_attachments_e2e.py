"""Attachments end to end, the app under the local gateway, real presigned POSTs and GETs
over HTTP, on both storages: S3 (moto's server on loopback, CHAT_BLOBS=s3://...) and the
embedded store the local gateway serves (CHAT_BLOBS=file://..., the default of local runs).

What enforces what here: moto 5.2 checks none of a presigned POST policy's conditions
(type, size, expiry) and no signature or expiry on GETs of existing objects, so these
tests show that the server's own check at ``send`` holds (size and type as declared,
the sender's own upload, attached once) and that only the two people get a URL. The
storage's own enforcement is tested where the storage does it: the embedded store (here,
where a POST outside its policy is refused, and in tests/e2e/test_local_blobs.py) and
MiniStack's S3 with AUTH=true (tests/deploy/test_s3_presigned.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import Client, Gateway, names, run
from tests.e2e.uploads import download, post_file

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n" + b"0" * 3000 + b"\n%%EOF\n"


S3, EMBEDDED = "moto-s3", "embedded"


@pytest.fixture(scope="module", params=[S3, EMBEDDED])
def s3_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("attachments")
    env = {"CHAT_STORE": f"sqlite:///{tmp / 'chat.db'}"}
    if request.param == S3:
        moto_endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"chat-{uuid.uuid4().hex[:10]}"
        boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
        env.update(CHAT_BLOBS=f"s3://{bucket}/attachments/", AWS_ENDPOINT_URL_S3=moto_endpoint)
    else:
        env.update(CHAT_BLOBS=f"file:///{tmp / 'blobs'}")
    gateway = Gateway(tmp, env, [])
    gateway.start()
    yield gateway
    gateway.kill()


def enforces_policy(gateway: Gateway) -> bool:
    """Whether the storage refuses a POST outside its policy (the embedded store does;
    moto does not)."""
    return "CHAT_BLOBS" in gateway.env and gateway.env["CHAT_BLOBS"].startswith("file:")


async def pair(gateway: Gateway) -> tuple[Client, Client]:
    alice_name, bob_name = names(2)
    alice = await (await Client.open(gateway.ws_url)).register(alice_name)
    bob = await (await Client.open(gateway.ws_url)).register(bob_name)
    return alice, bob


async def upload(client: Client, name: str, kind: str, size: int, cid: str) -> dict[str, object]:
    return await client.call("upload", "upload", name=name, type=kind, size=size, client_id=cid)


def test_a_photo_and_a_pdf_go_through_s3_to_the_other_person(s3_gateway: Gateway) -> None:
    async def body() -> None:
        alice, bob = await pair(s3_gateway)
        for name, kind, data, disposition in (
            ("beach.png", "image/png", PHOTO, "inline"),
            ("plan.pdf", "application/pdf", PDF, "attachment"),
        ):
            offer = await upload(alice, name, kind, len(data), f"u-{name}")
            assert offer["client_id"] == f"u-{name}"
            # moto, path-style; the embedded store, on the gateway's origin
            assert str(offer["url"]).startswith(("http://127.0.0.1:", "/blobs/"))
            fields = offer["fields"]
            assert isinstance(fields, dict) and fields["key"].endswith(str(offer["upload_id"]))
            assert fields["Content-Type"] == kind
            posted = post_file(s3_gateway.url, offer, data, kind)
            assert posted.status_code == 204, posted.text
            await alice.send(action="send", to=bob.username, text="", client_id=f"c-{name}",
                             attachment=offer["upload_id"])
            ack = await alice.expect("ack", client_id=f"c-{name}")
            pushed = await bob.expect("message", id=ack["id"])
            attachment = pushed["attachment"]
            assert (attachment["name"], attachment["type"], attachment["size"]) == (
                name, kind, len(data))
            got = download(s3_gateway.url, attachment["url"])
            assert got.status_code == 200 and got.content == data
            assert got.headers["Content-Type"] == kind
            assert got.headers["Content-Disposition"].startswith(disposition)
        history = await bob.call("history", "history", **{"with": alice.username})
        urls = [m["attachment"]["url"] for m in history["messages"]]
        assert all(download(s3_gateway.url, url).ok for url in urls)

    run(body())


def test_one_person_cannot_attach_anothers_upload_and_a_stranger_never_gets_a_url(
    s3_gateway: Gateway,
) -> None:
    async def body() -> None:
        alice, bob = await pair(s3_gateway)
        (mallory_name,) = names(1)
        mallory = await (await Client.open(s3_gateway.ws_url)).register(mallory_name)
        offer = await upload(alice, "me.jpg", "image/jpeg", len(PHOTO), "u1")
        assert post_file(s3_gateway.url, offer, PHOTO, "image/jpeg").status_code == 204
        await mallory.send(action="send", to=bob.username, client_id="m1",
                           attachment=offer["upload_id"])
        refused = await mallory.expect("error", client_id="m1")
        assert refused["code"] == "invalid"
        await alice.send(action="send", to=bob.username, client_id="a1",
                         attachment=offer["upload_id"])
        await alice.expect("ack", client_id="a1")
        await bob.expect("message")
        seen = await mallory.drain()
        seen.append(await mallory.call("history", "history", **{"with": alice.username}))
        seen.append(await mallory.call("conversations", "conversations"))
        assert str(offer["upload_id"]) not in json.dumps(seen)

    run(body())


@pytest.mark.parametrize("problem", ["bigger", "smaller", "other type", "never posted"])
def test_a_file_other_than_declared_is_refused(s3_gateway: Gateway, problem: str) -> None:
    async def body() -> None:
        alice, bob = await pair(s3_gateway)
        offer = await upload(alice, "a.png", "image/png", len(PHOTO), "u1")
        data = {"bigger": PHOTO + b"extra", "smaller": PHOTO[:-1]}.get(problem, PHOTO)
        kind = "image/gif" if problem == "other type" else "image/png"
        if problem == "other type":
            offer["fields"] = {**offer["fields"], "Content-Type": kind}  # type: ignore[dict-item]
        if problem != "never posted":
            posted = post_file(s3_gateway.url, offer, data, kind)
            if enforces_policy(s3_gateway) and problem != "smaller":
                assert posted.status_code in (400, 403), posted.text  # outside the policy
            else:
                # moto stores it: its POST enforces neither the size range nor the type
                # (and a smaller file is within any store's content-length-range)
                assert posted.status_code == 204, posted.text
        await alice.send(action="send", to=bob.username, client_id="c1",
                         attachment=offer["upload_id"])
        refused = await alice.expect("error", client_id="c1")
        assert refused["code"] == "invalid", refused
        assert [f for f in await bob.drain() if f["type"] == "message"] == []

    run(body())


def test_deleting_the_message_deletes_the_object(s3_gateway: Gateway) -> None:
    async def body() -> None:
        alice, bob = await pair(s3_gateway)
        offer = await upload(alice, "gone.png", "image/png", len(PHOTO), "u1")
        assert post_file(s3_gateway.url, offer, PHOTO, "image/png").status_code == 204
        await alice.send(action="send", to=bob.username, client_id="c1",
                         attachment=offer["upload_id"])
        ack = await alice.expect("ack", client_id="c1")
        pushed = await bob.expect("message", id=ack["id"])
        fields = offer["fields"]
        assert isinstance(fields, dict)
        if enforces_policy(s3_gateway):
            blob = s3_gateway.workdir / "blobs" / str(offer["upload_id"])
            assert blob.exists()
            await alice.call("delete", "deleted", id=ack["id"])
            assert download(s3_gateway.url, pushed["attachment"]["url"]).status_code == 404
            assert not blob.exists()
            return
        bucket = str(offer["url"]).rstrip("/").rsplit("/", 1)[1]
        s3 = boto3.client("s3", endpoint_url=s3_gateway.env["AWS_ENDPOINT_URL_S3"])
        tags = s3.get_object_tagging(Bucket=bucket, Key=fields["key"])["TagSet"]
        assert {"Key": "chat-state", "Value": "attached"} in tags
        await alice.call("delete", "deleted", id=ack["id"])
        # moto answers a GET of a missing key 403 (S3 does too, without s3:ListBucket)
        assert download(s3_gateway.url, pushed["attachment"]["url"]).status_code in (403, 404)
        with pytest.raises(s3.exceptions.ClientError):
            s3.head_object(Bucket=bucket, Key=fields["key"])

    run(body())


def test_files_survive_a_restart_of_the_local_gateway(
    tmp_path: Path, start_gateway: Callable[..., Gateway]
) -> None:
    gateway = start_gateway({"CHAT_STORE": f"sqlite:///{tmp_path / 'chat.db'}",
                             "CHAT_BLOBS": f"file:///{tmp_path / 'blobs'}"}, workdir=tmp_path)

    async def send_photo() -> tuple[str, str]:
        alice, bob = await pair(gateway)
        offer = await upload(alice, "kept.png", "image/png", len(PHOTO), "u1")
        assert post_file(gateway.url, offer, PHOTO, "image/png").status_code == 204
        await alice.send(action="send", to=bob.username, client_id="c1",
                         attachment=offer["upload_id"])
        await alice.expect("ack", client_id="c1")
        await alice.close()
        await bob.close()
        return alice.username, bob.token

    async def after_restart(alice_name: str, bob_token: str) -> None:
        bob = await Client.open(gateway.ws_url)
        await bob.call("resume", "welcome", token=bob_token)
        history = await bob.call("history", "history", **{"with": alice_name})
        (message,) = history["messages"]
        got = download(gateway.url, message["attachment"]["url"])
        assert got.status_code == 200 and got.content == PHOTO
        await bob.close()

    alice_name, bob_token = run(send_photo())
    gateway.stop()
    gateway.start()
    run(after_restart(alice_name, bob_token))
