"""Schemathesis hooks for `make test-schemathesis` (loaded by schemathesis.toml).

What they do, and why each is not a loosening of the checks:

- Auth is off locally. openapi.yaml requires SigV4 (`security: sigv4`), which
  API Gateway checks before the function runs; the local emulator does not
  emulate IAM (README, "Try it locally"). The security requirements are
  removed from the schema as loaded here, so Schemathesis neither sends a fake
  Authorization header nor expects a 401/403 without one (ST203 "missing
  required header" and the `ignored_auth` check test API Gateway, not us).
- No CORS preflights. openapi.yaml's OPTIONS operations exist only when the
  stack sets CorsAllowOrigins; the local emulator runs without it, where
  OPTIONS is a 405 like any method a path does not serve.
- An object's bytes are bytes. GET answers an object with its own
  Content-Type (`application/json`, `application/xml`, ...), documented as
  `format: binary`: the JSON and XML readers here leave those alone instead of
  parsing a stored object (or a range of one) as a document.
- XML answers are checked against their schemas. Schemathesis validates only
  JSON by itself; S3's documents are XML, so `application/xml` answers are read
  into JSON-like values following the schema's own `xml` annotations (element
  names, wrapped arrays) and types, then validated like any JSON answer.
- Object operations meet a real bucket. Random bucket names only reach
  NoSuchBucket; about half of the generated folder names on object operations
  and listings are replaced by a bucket the make target created and filled
  (`S3_PROXY_SCHEMATHESIS_BUCKET`, key `hello.txt`), so 200/206/304/412 answers
  are checked too.
- Checksums match the body. A well-formed `Content-MD5` or
  `x-amz-checksum-sha256` that does not match the body is rightly refused
  (400 BadDigest); a schema cannot say "the MD5 of the body", so a well-formed
  value is replaced by the body's real digest. Malformed values (negative
  tests) are left as generated and must be refused.
- `Accept: application/json` in about a third of the requests that send an
  Accept header, so the JSON twins of the documents are checked as well.
- Relations between parameters that OpenAPI 3.0 cannot state (before_call,
  positive cases only): POST carries exactly one of `?uploads` and
  `?uploadId`, DELETE not both `?uploadId` and `?versionId`; the three SSE-C
  headers come together with a consistent key (and not on reads, which would
  need the object's own key), KMS headers with `x-amz-server-side-encryption:
  aws:kms`, not SSE-C with SSE-S3/KMS.
"""

import base64
import copy
import hashlib
import os
import re
import xml.etree.ElementTree as ET
import zlib

import schemathesis
from schemathesis.transport.serialization import serialize_binary

FIXTURE_BUCKET = os.environ.get("S3_PROXY_SCHEMATHESIS_BUCKET", "")
FIXTURE_KEY = "hello.txt"

# The raw schema, kept to find the schema of each answer.
_RAW: dict = {}


@schemathesis.hook
def before_load_schema(context, raw_schema):
    # Auth off locally: see the module doc.
    raw_schema.pop("security", None)
    for methods in raw_schema.get("paths", {}).values():
        # CORS preflights exist only when the stack sets CorsAllowOrigins
        # (openapi.yaml); the local emulator runs without it.
        methods.pop("options", None)
        for operation in methods.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    _RAW.clear()
    _RAW.update(copy.deepcopy(raw_schema))


def _stable(value) -> int:
    return zlib.crc32(repr(value).encode())


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    operation = context.operation
    if not FIXTURE_BUCKET or operation is None:
        return path_parameters
    object_path = operation.path == "/{folder}/{item}"
    listing = operation.path == "/{folder}" and operation.method.lower() == "get"
    if (object_path or listing) and _stable(path_parameters.get("folder")) % 2 == 0:
        path_parameters["folder"] = FIXTURE_BUCKET
        if object_path and _stable(path_parameters.get("item")) % 2 == 0:
            path_parameters["item"] = FIXTURE_KEY
    return path_parameters


@schemathesis.hook
def map_headers(context, headers):
    if headers and "Accept" in headers and _stable(headers["Accept"]) % 3 == 0:
        headers["Accept"] = "application/json"
    return headers


MD5_FORM = re.compile(r"[A-Za-z0-9+/]{22}==")
SHA256_FORM = re.compile(r"[A-Za-z0-9+/]{43}=")


# The SSE-C key the hooks use: 32 bytes, and its MD5, both base64.
SSE_C_KEY = base64.b64encode(b"k" * 32).decode()
SSE_C_KEY_MD5 = base64.b64encode(hashlib.md5(b"k" * 32).digest()).decode()
SSE_C = (
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
)
KMS = (
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
    "x-amz-server-side-encryption-bucket-key-enabled",
)


def _is_positive(case) -> bool:
    meta = getattr(case, "_meta", None)
    return meta is None or str(meta.generation.mode) == "positive"


@schemathesis.hook
def before_call(context, case, kwargs):
    """Relations between parameters that OpenAPI 3.0 cannot state, applied in
    every phase (the coverage phase does not run the map_* hooks). In positive
    cases only, so negative cases still send what they generated."""
    path, method = case.operation.path, case.method.upper()
    positive = _is_positive(case)
    query = case.query if case.query is not None else {}
    headers = case.headers if case.headers is not None else {}
    if path == "/{folder}/{item}" and positive:
        # POST takes exactly one of ?uploads and ?uploadId; DELETE one of
        # ?uploadId (abort an upload) and ?versionId (delete a version).
        if method == "POST":
            if "uploads" in query:
                query.pop("uploadId", None)
            elif "uploadId" not in query:
                query["uploads"] = ""
            else:  # size and parts describe a plan, not a completion
                query.pop("size", None)
                query.pop("parts", None)
        if method == "DELETE" and "uploadId" in query:
            query.pop("versionId", None)
        names = {name.lower(): name for name in headers}
        sse_c = [names[h] for h in SSE_C if h in names]
        if method in ("GET", "HEAD"):
            # SSE-C on a read needs the key the object was written with.
            for name in sse_c:
                del headers[name]
        elif method == "PUT":
            sse = names.get("x-amz-server-side-encryption")
            if any(h in names for h in KMS) and sse is None:
                headers["x-amz-server-side-encryption"] = "aws:kms"
                sse = "x-amz-server-side-encryption"
            if sse is not None and not str(headers[sse]).startswith("aws:kms"):
                for h in KMS:
                    headers.pop(names.get(h, h), None)
            if sse_c and sse is not None:
                for name in sse_c:  # SSE-C or SSE-S3/KMS, not both
                    del headers[name]
            elif sse_c:
                for name in sse_c:  # all three, consistent
                    del headers[name]
                headers[SSE_C[0]] = "AES256"
                headers[SSE_C[1]] = SSE_C_KEY
                headers[SSE_C[2]] = SSE_C_KEY_MD5
    if path == "/{folder}/{item}" and method == "PUT":
        _fix_checksums(case, headers, positive)


def _fix_checksums(case, headers, positive):
    names = {name.lower(): name for name in headers}
    md5 = names.get("content-md5")
    sha = names.get("x-amz-checksum-sha256")
    # In a positive case every checksum is made right (the coverage phase
    # sends short values such as `0` as "valid" despite the pattern); in a
    # negative one only the well-formed ones, so malformed ones are still sent.
    fixed = [
        name
        for name, form in ((md5, MD5_FORM), (sha, SHA256_FORM))
        if name is not None
        and (positive or (isinstance(headers[name], str) and form.fullmatch(headers[name])))
    ]
    if not fixed:
        return
    # Send the body as the bytes the digest is computed over.
    body = b""
    if case.body is not None and type(case.body).__name__ != "NotSet":
        body = serialize_binary(case.body)
        case.body = body
        case.media_type = "application/octet-stream"
    for name in fixed:
        algorithm = hashlib.md5 if name == md5 else hashlib.sha256
        headers[name] = base64.b64encode(algorithm(body).digest()).decode()


# --- XML answers, read by their schema ------------------------------------


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = _RAW
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _response_schema(operation, status: int, media_type: str):
    methods = _RAW.get("paths", {}).get(operation.path, {})
    responses = methods.get(operation.method.lower(), {}).get("responses", {})
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    response = _resolve(response) or {}
    content = response.get("content", {})
    media = content.get(media_type) or content.get("application/xml") or content.get("*/*") or {}
    return _resolve(media.get("schema"))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name):
    return [child for child in element if _local(child.tag) == name]


def _convert(element, schema):
    schema = _resolve(schema) or {}
    if "oneOf" in schema or "anyOf" in schema:
        # The XML of a oneOf: the first branch whose root name matches.
        for branch in schema.get("oneOf", schema.get("anyOf")):
            branch = _resolve(branch)
            if branch.get("xml", {}).get("name") in (None, _local(element.tag)):
                return _convert(element, branch)
    kind = schema.get("type")
    text = (element.text or "").strip() if element is not None else ""
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text  # fails its schema: reported
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if kind != "object":
        return element.text or ""
    out = {}
    known = set()
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(prop)
        xml = prop.get("xml", {})
        element_name = xml.get("name", name)
        known.add(element_name)
        if prop.get("type") == "array":
            items = _resolve(prop.get("items", {}))
            if xml.get("wrapped"):
                wrappers = _children(element, element_name)
                if not wrappers:
                    continue
                item_name = items.get("xml", {}).get("name", element_name)
                known.add(item_name)
                out[name] = [_convert(c, items) for c in _children(wrappers[0], item_name)]
            else:
                found = _children(element, element_name)
                if found:
                    out[name] = [_convert(c, items) for c in found]
        else:
            found = _children(element, element_name)
            if found:
                out[name] = _convert(found[0], prop)
    # Elements the schema does not name stay visible, so a schema that closes
    # its properties (additionalProperties: false) catches them.
    for child in element:
        if _local(child.tag) not in known:
            out[_local(child.tag)] = child.text or ""
    return out


def _is_bytes(schema) -> bool:
    return bool(schema) and schema.get("type") == "string" and schema.get("format") == "binary"


@schemathesis.deserializer("application/json")
def read_json(ctx, response):
    # An object's bytes are documented as bytes (`format: binary`) whatever
    # their Content-Type: a JSON object, or a range of one, is not a document.
    if _is_bytes(_response_schema(ctx.operation, response.status_code, "*/*")):
        return ""
    return response.json()


@schemathesis.deserializer("text/html")
def read_html(ctx, response):
    # The HTML index (a first Accept of text/html) is documented as a string:
    # the page as text; tests/cors_html.rs and tests/browser/ check what is in it.
    return response.content.decode("utf-8")


@schemathesis.deserializer("application/xml", "text/xml")
def read_xml(ctx, response):
    if _is_bytes(_response_schema(ctx.operation, response.status_code, "*/*")):
        return ""
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError as e:
        # Reported as a deserialization failure (ST110).
        raise ValueError(f"the answer is not well-formed XML: {e}") from e
    media_type = (response.headers.get("Content-Type") or ["application/xml"])
    media_type = (media_type[0] if isinstance(media_type, list) else media_type).split(";")[0].strip()
    schema = _response_schema(ctx.operation, response.status_code, media_type)
    if schema is None:
        return {_local(root.tag): root.text or ""}
    expected = schema.get("xml", {}).get("name")
    if expected is not None and expected != _local(root.tag):
        # A document of another kind than documented: keep its root name so
        # the schema's required properties are missing and it is reported.
        return {"__root__": _local(root.tag)}
    return _convert(root, schema)
