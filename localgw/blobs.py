"""``/blobs/`` on the gateway's port: the blob store the app's ``prepare_local`` handed
over (``Prepared.blobs``, the interface in localgw/blobs_api.py), which checks every
request itself. Here is only the HTTP: the multipart POST read part by part, the file
streamed to disk and cut off at the policy's maximum (nothing is buffered whole), and
the signed GET/HEAD."""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from localgw.blobs_api import BlobServer, Refusal

CHUNK = 64 * 1024
# the form's other fields: a policy is a few hundred bytes
MAX_FIELD_BYTES = 8 * 1024
MAX_FIELDS = 16
FORM_OVERHEAD = MAX_FIELDS * (MAX_FIELD_BYTES + 512)


def refusal(problem: Refusal) -> web.Response:
    return web.Response(
        status=problem.status, body=problem.xml(), content_type="application/xml",
        headers={"X-Content-Type-Options": "nosniff"},
    )


async def _field(part: BodyPartReader) -> str | None:
    """A form field's text, or None when it is too long or not UTF-8."""
    value = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        value += chunk
        if len(value) > MAX_FIELD_BYTES:
            return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


async def _upload(server: BlobServer, request: web.Request) -> Refusal | None:
    if request.content_type != "multipart/form-data":
        return server.malformed_post
    if (request.content_length or 0) > server.max_upload + FORM_OVERHEAD:
        return server.entity_too_large
    reader = await request.multipart()
    fields: dict[str, str] = {}
    while True:
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or not part.name:
            return server.malformed_post  # the end without a file, or a nested multipart
        if part.name.lower() == "file":
            break
        value = await _field(part)
        if value is None or part.name in fields or len(fields) >= MAX_FIELDS:
            return server.malformed_post
        fields[part.name] = value
    upload = server.begin_upload(fields)
    if isinstance(upload, Refusal):
        return upload
    try:
        while chunk := await part.read_chunk(CHUNK):
            problem = upload.write(chunk)
            if problem is not None:
                return problem
        if not part.at_eof():  # the body ended before the file's closing boundary
            return server.malformed_post
        return upload.finish()  # any parts after the file are ignored, as S3 does
    finally:
        upload.abort()


def add_blob_routes(app: web.Application, server: BlobServer) -> None:
    async def upload(request: web.Request) -> web.StreamResponse:
        try:
            problem = await _upload(server, request)
        except (ValueError, AssertionError):  # aiohttp's word for a broken multipart body
            problem = server.malformed_post
        except ConnectionError:  # the client went away mid-body: nothing was stored
            problem = server.malformed_post
        return web.Response(status=204) if problem is None else refusal(problem)

    async def download(request: web.Request) -> web.StreamResponse:
        found = server.open_download(request.match_info["key"], request.query)
        if isinstance(found, Refusal):
            return refusal(found)
        return web.FileResponse(found.path, headers=found.headers)

    app.router.add_post("/blobs/", upload)
    app.router.add_get("/blobs/{key:.*}", download)
