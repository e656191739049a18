"""The embedded blob store over real HTTP: the app's gateway (`python -m localgw`) serves
CHAT_BLOBS=file:///<dir> at /blobs/; the test signs as the chat's handlers would, with
chalicelib.blobs.local on the same directory, then uploads and downloads as a browser
does (a multipart POST of the presigned fields and the file; a GET of the signed URL)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest

from chalicelib.blobs import BlobInfo
from chalicelib.blobs.local import LocalBlobs
from tests.e2e.conftest import Gateway, run

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"0" * 3000 + b"\n%%EOF\n"


def blobs_env(tmp: Path) -> dict[str, str]:
    return {"CHAT_STORE": f"sqlite:///{tmp / 'chat.db'}", "CHAT_BLOBS": f"file:///{tmp / 'blobs'}"}


@pytest.fixture(scope="module", params=["process", "thread"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """The app's gateway; the store is handed from a worker process (pickled) or from
    the gateway's own thread."""
    tmp = tmp_path_factory.mktemp("blobs")
    started = Gateway(tmp, blobs_env(tmp), ["--isolation", request.param, "--workers", "2"])
    started.start()
    yield started
    started.kill()


@pytest.fixture
def blobs(gateway: Gateway) -> LocalBlobs:
    return LocalBlobs(gateway.workdir / "blobs")


async def post_form(
    base: str, fields: dict[str, str], body: bytes | Any, *, filename: str = "upload.bin"
) -> tuple[int, str]:
    """The browser's upload: every field in order, then the file, last."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", body, filename=filename, content_type="application/octet-stream")
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + "/blobs/", data=form) as response,
    ):
        return response.status, await response.text()


def upload(base: str, fields: dict[str, str], body: bytes) -> tuple[int, str]:
    return run(post_form(base, fields, body))  # type: ignore[no-any-return]


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def signed(blobs: LocalBlobs, blob_id: str, **options: Any) -> str:
    chosen = {"name": "cat.png", "content_type": "image/png", "inline": True,
              "expires_in": 3600, **options}
    return blobs.presign_download(blob_id, **chosen)


def with_query(url: str, **change: str) -> str:
    path, _, query = url.partition("?")
    return path + "?" + urlencode({**dict(parse_qsl(query)), **change})


def stored(gateway: Gateway) -> list[str]:
    return sorted(p.name for p in (gateway.workdir / "blobs").iterdir())


def new_id() -> str:
    return secrets.token_urlsafe(12)


def test_an_uploaded_image_comes_back_inline_with_its_type(
    gateway: Gateway, blobs: LocalBlobs
) -> None:
    blob_id = new_id()
    post = blobs.presign_upload(blob_id, "image/png", len(PNG), 900)
    assert post.url == "/blobs/"
    assert upload(gateway.url, post.fields, PNG) == (204, "")
    assert blobs.head(blob_id) == BlobInfo(size=len(PNG), type="image/png")
    assert (((gateway.workdir / "blobs" / blob_id).stat().st_mode) & 0o777) == 0o600

    status, headers, body = fetch(gateway.url + signed(blobs, blob_id))
    assert (status, body) == (200, PNG)
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == (
        "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    cache, _, age = headers["Cache-Control"].partition("max-age=")
    assert cache == "private, " and 0 < int(age) <= 3600


def test_a_pdf_is_an_attachment_with_its_utf8_name(gateway: Gateway, blobs: LocalBlobs) -> None:
    blob_id = new_id()
    post = blobs.presign_upload(blob_id, "application/pdf", len(PDF), 900)
    assert upload(gateway.url, post.fields, PDF)[0] == 204
    url = gateway.url + signed(
        blobs, blob_id, name="résumé 2.pdf", content_type="application/pdf", inline=False
    )
    status, headers, body = fetch(url)
    assert (status, body) == (200, PDF)
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"r_sum_ 2.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202.pdf"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = fetch(url, method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(PDF)))
    assert headers["Content-Type"] == "application/pdf"


def _tamper_policy(fields: dict[str, str]) -> dict[str, str]:
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"][2] = ["content-length-range", 1, 10**9]
    return {**fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}


# each: how the presigned fields are changed, the body, the status and S3's error code
REFUSED_POSTS: dict[str, tuple[Callable[[dict[str, str]], dict[str, str]], bytes, int, str]] = {
    "tampered policy": (_tamper_policy, b"x" * 10, 403, "SignatureDoesNotMatch"),
    "tampered signature": (
        lambda f: {**f, "x-chat-signature": "0" * 64}, b"x" * 10, 403, "SignatureDoesNotMatch"
    ),
    "no signature": (
        lambda f: {k: v for k, v in f.items() if k != "x-chat-signature"}, b"x", 403,
        "AccessDenied",
    ),
    "wrong Content-Type": (
        lambda f: {**f, "Content-Type": "text/html"}, b"x" * 10, 403, "AccessDenied"
    ),
    "wrong key": (lambda f: {**f, "key": "somebody-elses"}, b"x" * 10, 403, "AccessDenied"),
    "an extra field": (lambda f: {**f, "acl": "public-read"}, b"x" * 10, 403, "AccessDenied"),
    "a body over the range": (lambda f: f, b"x" * 11, 400, "EntityTooLarge"),
    "an empty body": (lambda f: f, b"", 400, "EntityTooSmall"),
}


@pytest.mark.parametrize("case", list(REFUSED_POSTS))
def test_a_post_outside_its_policy_is_refused_and_stores_nothing(
    gateway: Gateway, blobs: LocalBlobs, case: str
) -> None:
    change, body, status, code = REFUSED_POSTS[case]
    blob_id = new_id()
    before = stored(gateway)
    post = blobs.presign_upload(blob_id, "image/png", 10, 900)
    got, text = upload(gateway.url, change(post.fields), body)
    assert (got, f"<Code>{code}</Code>" in text) == (status, True), text
    assert blobs.head(blob_id) is None and blobs.head("somebody-elses") is None
    assert stored(gateway) == before


def test_an_expired_post_is_refused(gateway: Gateway, blobs: LocalBlobs) -> None:
    an_hour_ago = LocalBlobs(gateway.workdir / "blobs", clock=lambda: time.time() - 3600)
    blob_id = new_id()
    post = an_hour_ago.presign_upload(blob_id, "image/png", 10, 900)
    status, text = upload(gateway.url, post.fields, b"x" * 10)
    assert status == 403 and "<Code>AccessDenied</Code>" in text and "expired" in text
    assert blobs.head(blob_id) is None


def test_a_body_far_over_the_range_is_cut_off_while_it_streams(
    gateway: Gateway, blobs: LocalBlobs
) -> None:
    blob_id = new_id()
    before = stored(gateway)
    post = blobs.presign_upload(blob_id, "image/png", 1000, 900)

    async def endless() -> Any:
        for _ in range(80):  # 5 MiB, sent chunked: no Content-Length to refuse it by
            yield b"x" * 65536

    status, text = run(post_form(gateway.url, post.fields, endless()))
    assert status == 400 and "<Code>EntityTooLarge</Code>" in text
    assert stored(gateway) == before


def test_a_request_declaring_more_than_any_upload_may_be_is_refused_unread(
    gateway: Gateway,
) -> None:
    async def ask() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(
            b"POST /blobs/ HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 1000000000\r\n\r\n--b\r\n"
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        return head

    head = run(ask())
    assert head.startswith(b"HTTP/1.1 400 "), head


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"key=a&policy=b"),
        ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data"),
        ("multipart/form-data; boundary=zz",
         b'--zz\r\nContent-Disposition: form-data; name="key"\r\n\r\nabc\r\n--zz--\r\n'),
        ("text/plain", b""),
    ],
    ids=["urlencoded", "truncated", "no file part", "not a form"],
)
def test_a_malformed_post_gets_400(gateway: Gateway, content_type: str, body: bytes) -> None:
    request = urllib.request.Request(
        gateway.url + "/blobs/", data=body, method="POST", headers={"Content-Type": content_type}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert b"<Code>MalformedPOSTRequest</Code>" in refused.value.read()


def _raw_form(fields: dict[str, str], file_start: bytes) -> bytes:
    body = b"".join(
        b'--zz\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (name.encode(), value.encode())
        for name, value in fields.items()
    )
    return body + b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n' + (
        file_start
    )


async def _raw_post(port: int, body: bytes, declared: int) -> bytes:
    """Sends the body after headers declaring ``declared`` bytes; closes if it sent fewer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /blobs/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz"
        b"\r\nContent-Length: %d\r\n\r\n%s" % (declared, body)
    )
    await writer.drain()
    if declared > len(body):
        writer.close()
        return b""
    head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    return head + await reader.read(200)


def test_a_body_cut_short_stores_nothing(gateway: Gateway, blobs: LocalBlobs) -> None:
    blob_id = new_id()
    before = stored(gateway)
    post = blobs.presign_upload(blob_id, "text/plain", 100, 900)
    body = _raw_form(post.fields, b"the first half of a fi")
    answer = run(_raw_post(gateway.port, body, len(body)))  # no closing boundary
    assert answer.startswith(b"HTTP/1.1 400 ") and b"MalformedPOSTRequest" in answer, answer
    run(_raw_post(gateway.port, body, len(body) + 1000))  # the client goes away mid-body
    assert upload(gateway.url, post.fields, b"whole")[0] == 204  # and the gateway goes on
    assert blobs.head(blob_id) == BlobInfo(5, "text/plain")
    expected = sorted([*before, blob_id, f"{blob_id}.json"])
    deadline = time.monotonic() + 10  # the dropped request's handler ends on its own time
    while stored(gateway) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(gateway) == expected
    assert "Error handling request" not in gateway.log()


def test_a_changed_or_expired_download_url_is_refused(
    gateway: Gateway, blobs: LocalBlobs
) -> None:
    blob_id = new_id()
    post = blobs.presign_upload(blob_id, "image/png", len(PNG), 900)
    assert upload(gateway.url, post.fields, PNG)[0] == 204
    url = signed(blobs, blob_id)
    expired = LocalBlobs(gateway.workdir / "blobs", clock=lambda: time.time() - 7200)
    cases = {
        "signature": with_query(url, signature="0" * 64),
        "type": with_query(url, type="text/html"),
        "disposition": with_query(url, disposition='attachment; filename="x.png"'),
        "expiry": with_query(url, expires=str(int(time.time()) + 10**6)),
        "no signature": url.partition("&signature=")[0],
        "expired": signed(expired, blob_id),
        "another blob": url.replace(blob_id, new_id(), 1),
    }
    for what, changed in cases.items():
        status, headers, body = fetch(gateway.url + changed)
        assert status == 403, what
        assert PNG not in body and headers["Content-Type"] == "application/xml", what


def test_a_valid_url_for_nothing_stored_is_404(gateway: Gateway, blobs: LocalBlobs) -> None:
    status, _, body = fetch(gateway.url + signed(blobs, new_id()))
    assert status == 404 and b"<Code>NoSuchKey</Code>" in body


def test_no_key_reaches_outside_the_store(gateway: Gateway, blobs: LocalBlobs) -> None:
    secret = (gateway.workdir / "blobs" / ".secret").read_bytes()
    blob_id = new_id()
    post = blobs.presign_upload(blob_id, "image/png", len(PNG), 900)
    assert upload(gateway.url, post.fields, PNG)[0] == 204
    record = gateway.workdir / "blobs" / f"{blob_id}.json"
    for path in (
        "/blobs/..%2F.secret", "/blobs/%2E%2E/chat.db", "/blobs/.secret", "/blobs/x%2F..%2F..",
        f"/blobs/{record.name}", "/blobs/a/../../.secret", "/blobs/", "/blobs/a/b",
    ):
        request = urllib.request.Request(gateway.url + path + "?expires=9999999999&type=a"
                                         "&disposition=inline&signature=00")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        assert secret not in body and record.read_bytes() not in body, path
        assert status == 400 and b"<Code>InvalidArgument</Code>" in body, path

    # a traversal key in a POST, even one signed with the store's own key
    key = "../outside"
    policy = base64.b64encode(json.dumps({
        "expiration": "2999-01-01T00:00:00Z",
        "conditions": [{"key": key}, {"Content-Type": "image/png"},
                       ["content-length-range", 1, 10]],
    }).encode()).decode()
    fields = {"key": key, "Content-Type": "image/png", "policy": policy,
              "x-chat-signature": hmac.new(secret, policy.encode(), hashlib.sha256).hexdigest()}
    status, text = upload(gateway.url, fields, b"x")
    assert status == 400 and "<Code>InvalidArgument</Code>" in text
    assert not (gateway.workdir / "outside").exists()
    with pytest.raises(ValueError, match="not a blob id"):
        blobs.presign_upload(key, "image/png", 10, 900)


def test_the_frontend_policy_allows_same_origin_uploads_and_blob_previews(
    gateway: Gateway,
) -> None:
    _, headers, _ = fetch(gateway.url + "/")
    policy = headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";")}
    assert "'self'" in directives["connect-src"]
    assert directives["img-src"] == ["'self'", "data:", "blob:"]


def test_blobs_and_urls_survive_a_restart_and_old_pending_ones_are_swept(
    start_gateway: Callable[..., Gateway], tmp_path: Path
) -> None:
    gateway = start_gateway(blobs_env(tmp_path), "--workers", "1", workdir=tmp_path)
    blobs = LocalBlobs(tmp_path / "blobs")
    urls = {}
    for blob_id in ("attached", "pending"):
        post = blobs.presign_upload(blob_id, "image/png", len(PNG), 900)
        assert upload(gateway.url, post.fields, PNG)[0] == 204
        urls[blob_id] = signed(blobs, blob_id)
    blobs.mark_attached("attached")

    assert gateway.stop() == 0
    gateway.start()  # the same directory, a new port: the signed (relative) URLs still hold
    for blob_id, url in urls.items():
        assert fetch(gateway.url + url)[::2] == (200, PNG), blob_id

    assert gateway.stop() == 0
    gateway.env["CHAT_UPLOAD_TTL"] = "0"  # every pending upload is now past it
    gateway.start()
    assert fetch(gateway.url + urls["attached"])[::2] == (200, PNG)
    assert fetch(gateway.url + urls["pending"])[0] == 404
    assert blobs.head("pending") is None
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir()) == [
        ".lock", ".secret", "attached", "attached.json"
    ]
