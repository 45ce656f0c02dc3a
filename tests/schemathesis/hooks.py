"""Schemathesis hooks for `make test-schemathesis` (loaded by schemathesis.toml).

What they do, and why each is not a loosening of the checks:

- Auth is off locally. openapi.yaml requires SigV4 (`security: sigv4`), which
  API Gateway checks before the function runs; the local emulator does not
  emulate IAM (README, "Try it locally"). The security requirements are
  removed from the schema as loaded here, so Schemathesis neither sends a fake
  Authorization header nor expects a 401/403 without one (ST203 "missing
  required header" and the `ignored_auth` check test API Gateway, not us).
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
- POST on an object carries exactly one of `?uploads` and `?uploadId`, which
  OpenAPI 3.0 cannot say of two query parameters (the description does).
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


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path != "/{folder}/{item}" or case.method.upper() != "PUT":
        return
    headers = case.headers or {}
    names = {name.lower(): name for name in headers}
    md5 = names.get("content-md5")
    sha = names.get("x-amz-checksum-sha256")
    meta = getattr(case, "_meta", None)
    positive = meta is None or str(meta.generation.mode) == "positive"
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
    media = content.get(media_type) or content.get("application/xml") or {}
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


@schemathesis.deserializer("application/xml", "text/xml")
def read_xml(ctx, response):
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


@schemathesis.hook
def map_query(context, query):
    # POST on an object takes exactly one of `?uploads` (a presigned upload
    # plan) and `?uploadId=ID` (complete that upload), which OpenAPI 3.0
    # cannot say of two query parameters.
    operation = context.operation
    if operation is None or operation.method.lower() != "post" or query is None:
        return query
    if "uploads" in query and "uploadId" in query:
        del query["uploadId"]
    elif "uploads" not in query and "uploadId" not in query:
        query["uploads"] = ""
    return query
