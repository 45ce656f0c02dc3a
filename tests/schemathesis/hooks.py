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
  tests) are left as generated and must be refused. In a positive case an
  `x-amz-sdk-checksum-algorithm` names the SHA-256 sent with it.
- `Accept: application/json` in about a third of the requests that send an
  Accept header, so the JSON twins of the documents are checked as well.
- Relations between parameters that OpenAPI 3.0 cannot state (before_call,
  positive cases only): POST carries exactly one of `?uploads` (no body) and
  `?uploadId`, DELETE not both `?uploadId` and `?versionId`; no SSE-C
  headers (an object written with a customer key opens only with that key,
  so a later read of it by another step is a 400; tests/no_surprises.rs
  tests SSE-C), KMS headers with `x-amz-server-side-encryption: aws:kms`;
  an `x-amz-tagging` whose decoded pairs keep S3's tag-set rules (at most
  10, unique keys of 1 to 128 characters, values up to 256: rules about the
  decoded pairs, which a pattern over the encoded header cannot state; one
  that breaks them is S3's 400 InvalidTag, and is replaced by a valid one);
  a plan's `parts` enough for its `size` (5 GiB a part at most); after a
  multipart plan, its first part is uploaded to its presigned URL, and a later
  step completing that upload names that part (after_call); a `versionId` is `null` (the only
  version an unversioned bucket has; S3 answers 400 to any other); no made-up
  `continuation-token` (S3 answers 400 to a token it did not issue); a
  CompleteMultipartUpload's parts in ascending order, each once (S3's rule);
  no control characters in a key a multipart upload names (S3's multipart
  answers carry the key in XML, which cannot hold them: refused, 400); user
  metadata within S3's 2 KB of names and values (400 MetadataTooLarge); an
  `x-amz-acl` that a bucket with ACLs disabled takes (S3's default for new
  buckets, and the local store's).
- Negative XML documents stay negative on the wire. Schemathesis's XML writer
  drops the characters XML cannot carry, so an invalid value made of them
  (a LocationConstraint of "\x0b") went out as a valid one (empty: us-east-1)
  and its rightful 200 was reported as a schema-violating request accepted.
  In negative cases those characters are sent as `\u00bf` instead: the value
  stays what it was generated to be, invalid, and must be refused. An empty
  list writes no element either (an extra property holding one vanished, and
  the document went out valid): it is sent holding one `\u00bf`.
"""

import base64
import copy
import hashlib
import os
import re
import urllib.parse
import xml.etree.ElementTree as ET
import zlib

import requests
import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.core.deserialization import deserialize_yaml
from schemathesis.core.media_types import YAML_MEDIA_TYPES
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


def _xml_carriable_item(path_parameters):
    """Keys POST names go into XML (the plan, S3's multipart answers): no
    character XML 1.0 cannot carry (such keys are refused there, 400)."""
    item = path_parameters.get("item")
    if isinstance(item, str):
        # The fuzzing phase hands path parameters over percent-encoded.
        encoded = "%" in item
        raw = urllib.parse.unquote(item) if encoded else item
        clean = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", raw)
        clean = clean if clean.strip() else "k"
        path_parameters["item"] = urllib.parse.quote(clean, safe="") if encoded else clean


# What XML 1.0 cannot carry (Schemathesis's XML writer drops it).
XML_UNCARRIABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _carried(value):
    """A negative document's values with what XML cannot carry replaced by a
    character it can (see the module doc), so that nothing vanishes."""
    if isinstance(value, str):
        return XML_UNCARRIABLE.sub("\u00bf", value)
    if isinstance(value, dict):
        return {name: _carried(item) for name, item in value.items()}
    if isinstance(value, list):
        # An empty list writes no element at all: an extra property holding
        # one (seed 6006) vanished and left a valid document.
        return [_carried(item) for item in value] or ["\u00bf"]
    return value


def _valid_tag_set(header: str) -> bool:
    """S3's rules for `x-amz-tagging`, which are about the decoded pairs: at
    most 10, each key once, keys of 1 to 128 characters, values up to 256."""
    pairs = urllib.parse.parse_qsl(header, keep_blank_values=True)
    keys = [key for key, _ in pairs]
    return (
        len(pairs) <= 10
        and len(set(keys)) == len(keys)
        and all(0 < len(key) <= 128 and len(value) <= 256 for key, value in pairs)
    )


def _stable(value) -> int:
    return zlib.crc32(repr(value).encode())


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    operation = context.operation
    if operation is not None and operation.method.lower() == "post":
        _xml_carriable_item(path_parameters)
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


def _integer(value):
    """A query value as an integer: generated as int, or as its text."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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
            if "uploads" in query and case.body is not NOT_SET:
                # A plan request takes no body (the document is for ?uploadId).
                # Sent empty through the transport's own body argument: a
                # case whose body is NOT_SET is revalidated as negative.
                kwargs["data"] = b""
            size, parts = _integer(query.get("size")), _integer(query.get("parts"))
            if size is not None and parts is not None:
                # S3 caps a part at 5 GiB: the plan needs enough parts.
                query["parts"] = max(parts, -(-size // (5 << 30)))
        if method == "DELETE" and "uploadId" in query:
            query.pop("versionId", None)
        if "versionId" in query:
            # The store (as S3 in an unversioned bucket) knows one version:
            # null. Any other id is S3's 400 InvalidArgument.
            query["versionId"] = "null"
        if method == "POST" and query.get("uploadId") in UPLOADED_PARTS:
            # Completing an upload this run planned: the parts it holds.
            case.body = "<CompleteMultipartUpload>" + "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
                for n, etag in UPLOADED_PARTS[query["uploadId"]]
            ) + "</CompleteMultipartUpload>"
        elif method == "POST" and "uploadId" in query and (case.body is NOT_SET or not case.body):
            # Completing an upload takes S3's CompleteMultipartUpload body
            # (the spec cannot make the body required for ?uploadId only).
            case.body = (
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
                '<ETag>"0123456789abcdef0123456789abcdef"</ETag></Part></CompleteMultipartUpload>'
            )
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
            # No SSE-C on a write: an object written with a customer key
            # opens only with it, and a later step (or the fixture's GET)
            # reading it without its key is S3's 400, a relation between
            # steps the spec cannot state. SSE-C is tested in
            # tests/no_surprises.rs (stored, echoed, opened only with its key).
            for name in sse_c:
                del headers[name]
            tagging = names.get("x-amz-tagging")
            if tagging is not None and not _valid_tag_set(str(headers[tagging])):
                headers[tagging] = "team=blue&year=2026"
    if (
        not positive
        and case.media_type == "application/xml"
        and case.body is not NOT_SET
        and not isinstance(case.body, dict)
    ):
        # A document that is not an object (a list, a string) has no XML
        # form: Schemathesis sends an empty root element, which is a valid
        # document. Send what it means, a body that is not the document,
        # which must be refused.
        case.body = "<not-the-document>"
    if not positive and case.media_type == "application/xml" and isinstance(case.body, dict):
        case.body = _carried(case.body)
    if path == "/{folder}" and method == "GET" and positive:
        # A continuation token is one S3 answered; any other is S3's 400.
        query.pop("continuation-token", None)
    folder = (case.path_parameters or {}).get("folder")
    if positive and isinstance(folder, str) and re.fullmatch(r"[0-9.]+|xn--.*|sthree-.*", folder):
        # S3's bucket rules the spec's pattern cannot state without
        # lookarounds: not shaped like an IP address, no reserved prefix.
        case.path_parameters["folder"] = "b-" + folder.replace(".", "-").strip("-") + "-0"
    if path == "/{folder}/{item}" and method == "POST" and positive and case.path_parameters:
        # S3's multipart answers name the key in XML: a key with a character
        # XML 1.0 cannot carry is refused there (400, documented).
        _xml_carriable_item(case.path_parameters)
    if path == "/{folder}/{item}" and method == "POST" and positive:
        # S3 takes a CompleteMultipartUpload's parts in ascending order,
        # each once (else 400 InvalidPartOrder).
        body = case.body
        parts = body.get("Part") if isinstance(body, dict) else None
        if isinstance(parts, list):
            seen, ordered = set(), []
            for part in sorted(parts, key=lambda p: p.get("PartNumber", 0)):
                if part.get("PartNumber") not in seen:
                    seen.add(part.get("PartNumber"))
                    ordered.append(part)
            body["Part"] = ordered
    if positive:
        for name, value in list(headers.items()):
            if isinstance(value, str) and "\t" in value:
                # The local store's SigV4 check (s3s 0.14) canonicalizes a tab
                # inside a header value otherwise than aws-sdk-s3 signs it
                # (403 SignatureDoesNotMatch there); S3 and API Gateway take
                # tabs. A store limitation, not the API's: see docs/local-store.md.
                headers[name] = value.replace("\t", " ")
    if method == "PUT" and positive:
        # A new S3 bucket, and every local one, has ACLs disabled (Object
        # Ownership BucketOwnerEnforced): it takes only the ACLs that grant
        # no one but the owner (else 400), a setting of the bucket, which no
        # schema of the request states.
        for name in headers:
            if name.lower() == "x-amz-acl":
                headers[name] = "bucket-owner-full-control" if path == "/{folder}/{item}" else "private"
    if path == "/{folder}/{item}" and method == "PUT" and positive:
        # S3 keeps 2 KB of user metadata, names and values together (else
        # 400 MetadataTooLarge): a rule over all the headers, which no
        # schema of one header states.
        budget = 2048
        for name, value in list(headers.items()):
            if name.lower().startswith("x-amz-meta-") and isinstance(value, str):
                size = lambda v: len(name) - len("x-amz-meta-") + _sent_size(v)
                while value and size(value) > budget:
                    value = value[: len(value) // 2]
                headers[name] = value
                budget -= size(value)
    if path == "/{folder}/{item}" and method == "PUT":
        _fix_checksums(case, headers, positive)


# Multipart uploads planned during the run: UploadId -> the parts uploaded
# to it, so that a later step completing that upload names real parts, as a
# client does (else S3's 400 InvalidPart, rightly).
UPLOADED_PARTS = {}


def _plan_parts(response):
    """(UploadId, [(part number, url)]) of a multipart plan answer, else None."""
    text = response.content.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        try:
            plan = response.json()
        except ValueError:
            return None
        parts = [(p.get("PartNumber"), p.get("Url")) for p in plan.get("Parts") or []]
        return (plan.get("UploadId"), parts) if plan.get("UploadId") else None
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        return None
    upload_id = next((e.text for e in root if _local(e.tag) == "UploadId"), None)
    parts = []
    for part in (e for e in root if _local(e.tag) == "Part"):
        fields = {_local(f.tag): f.text for f in part}
        parts.append((int(fields.get("PartNumber", 0)), fields.get("Url")))
    return (upload_id, parts) if upload_id else None


@schemathesis.hook
def after_call(context, case, response):
    """After a multipart plan, upload its first part to its presigned URL
    (a small last part is allowed), as the plan's client would."""
    if case.method.upper() != "POST" or "uploads" not in (case.query or {}):
        return
    if response.status_code != 200:
        return
    planned = _plan_parts(response)
    if not planned or not planned[1]:
        return
    upload_id, parts = planned
    number, url = parts[0]
    answer = requests.put(url, data=b"part", timeout=10)
    if answer.status_code == 200 and answer.headers.get("ETag"):
        UPLOADED_PARTS[upload_id] = [(number, answer.headers["ETag"])]


def _sent_size(value: str) -> int:
    """The bytes of a metadata value as the proxy sends it to S3: ASCII as
    it is, anything else RFC 2047 encoded (`=?UTF-8?B?<base64>?=`)."""
    raw = value.encode("utf-8")
    if value.isascii():
        return len(raw)
    return len("=?UTF-8?B??=") + 4 * ((len(raw) + 2) // 3)


def _fix_checksums(case, headers, positive):
    names = {name.lower(): name for name in headers}
    md5 = names.get("content-md5")
    sha = names.get("x-amz-checksum-sha256")
    sdk = names.get("x-amz-sdk-checksum-algorithm")
    if positive and sdk is not None:
        # It names the request's one checksum: S3 refuses it alone or
        # naming another algorithm (400 InvalidRequest).
        headers[sdk] = "SHA256"
        if sha is None:
            sha = "x-amz-checksum-sha256"
            headers[sha] = ""
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
    # An object stored as text/html is bytes, as any object.
    if _is_bytes(_response_schema(ctx.operation, response.status_code, "*/*")):
        return ""
    return response.content.decode("utf-8")


@schemathesis.deserializer(*YAML_MEDIA_TYPES)
def read_yaml(ctx, response):
    # An object stored as YAML is bytes, as any object (Schemathesis would
    # decode it as UTF-8 text and fail on a binary body).
    if _is_bytes(_response_schema(ctx.operation, response.status_code, "*/*")):
        return ""
    return deserialize_yaml(response.content)


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
