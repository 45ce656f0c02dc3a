//! What is compared, and how: object headers, bucket states, listings (as
//! parsed documents), answers.

use super::*;

/// Headers that describe the object (or the operation on it) and must agree.
/// Not compared: transport and per-request headers (Date, request ids,
/// Server), and `x-amz-checksum-*`, which answer the checksum aws-sdk-s3
/// adds on its own to every upload (the proxy's calls and the direct ones
/// alike), not anything the client asked for.
pub fn compared_header(name: &str) -> bool {
    const OBJECT: &[&str] = &[
        "content-type",
        "content-length",
        "content-range",
        "etag",
        "last-modified",
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-language",
        "expires",
        "accept-ranges",
    ];
    // Per request; or request headers aws-sdk-s3 adds to every upload, which
    // moto echoes back and keeps with the object.
    const IGNORED: &[&str] = &[
        "x-amz-request-id",
        "x-amz-id-2",
        "x-amz-checksum-type",
        "x-amz-sdk-checksum-algorithm",
        "x-amz-content-sha256",
        "x-amz-decoded-content-length",
        "x-amz-trailer",
    ];
    OBJECT.contains(&name)
        || (name.starts_with("x-amz-")
            && !IGNORED.contains(&name)
            && !name.starts_with("x-amz-checksum-"))
}

/// Headers of an answer, not of the object: compared on answers, left out
/// of the bucket's state.
pub const TRANSPORT: &[&str] = &["last-modified", "accept-ranges"];

/// Headers compared on a PUT or DELETE answer (no entity headers there).
pub fn compared_on_write(name: &str) -> bool {
    // x-amz-tagging-count answers GET and HEAD, and S3's PutObject answers
    // no storage class (moto sends both on PUT).
    name == "etag"
        || (compared_header(name)
            && name.starts_with("x-amz-")
            && name != "x-amz-tagging-count"
            && name != "x-amz-storage-class")
}

/// A metadata value as a client reads it: S3 answers a non-ASCII value RFC
/// 2047 encoded (`=?UTF-8?B?...?=`), moto as it was sent; both are the same
/// value.
pub fn decoded_meta(value: &str) -> String {
    use base64::Engine;
    value
        .strip_prefix("=?UTF-8?B?")
        .or_else(|| value.strip_prefix("=?utf-8?b?"))
        .and_then(|rest| rest.strip_suffix("?="))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_string())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// Per side (each wrote at its own time): used to resolve conditions,
    /// not compared.
    pub last_modified: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    NoBucket,
    Unreadable(String),
    Objects(BTreeMap<String, Object>),
}

impl State {
    pub fn object(&self, key: &str) -> Option<&Object> {
        match self {
            State::Objects(objects) => objects.get(key).filter(|o| o.status == 200),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            State::NoBucket => "no bucket".into(),
            State::Unreadable(e) => format!("unreadable: {e}"),
            State::Objects(objects) => {
                let keys: Vec<&str> = objects.keys().map(String::as_str).collect();
                format!("keys {keys:?}")
            }
        }
    }
}

/// Differences between two states (Last-Modified aside), but for the
/// headers `skip(key, header)` names.
pub fn diff_states(
    a: &State,
    b: &State,
    names: &Names,
    skip: &dyn Fn(&str, &str) -> bool,
) -> Vec<String> {
    let (State::Objects(oa), State::Objects(ob)) = (a, b) else {
        return if a == b {
            Vec::new()
        } else {
            vec![format!(
                "bucket state: {} {}, {} {}",
                names.subject,
                a.describe(),
                names.reference,
                b.describe()
            )]
        };
    };
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = oa.keys().chain(ob.keys()).collect();
    for key in keys {
        match (oa.get(key), ob.get(key)) {
            (Some(x), Some(y)) => {
                if x.status != y.status {
                    out.push(format!(
                        "state of {key:?}: GET answers {} on {}, {} on {}",
                        x.status, names.subject, y.status, names.reference
                    ));
                }
                if x.body != y.body {
                    out.push(format!(
                        "state of {key:?}: bytes {} on {}, {} on {}",
                        excerpt(&x.body),
                        names.subject,
                        excerpt(&y.body),
                        names.reference
                    ));
                }
                out.extend(
                    diff_headers(&x.headers, &y.headers, &|h| !skip(key, h), names)
                        .into_iter()
                        .map(|d| format!("state of {key:?}: {d}")),
                );
            }
            (Some(_), None) => out.push(format!("state: {key:?} exists on {} only", names.subject)),
            (None, Some(_)) => {
                out.push(format!("state: {key:?} exists on {} only", names.reference))
            }
            (None, None) => {}
        }
    }
    out
}

pub fn diff_headers(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
    which: &dyn Fn(&str) -> bool,
    names: &Names,
) -> Vec<String> {
    let keys: BTreeSet<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| compared_header(k) && which(k))
        .collect();
    let mut out = Vec::new();
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        if names.proxied
            && ((k == "accept-ranges" && x.map(String::as_str) == Some("bytes"))
                || (k == "content-type"
                    && y.is_none()
                    && x.map(String::as_str) == Some("application/octet-stream")))
        {
            // Documented: the proxy answers `Accept-Ranges: bytes` (as S3
            // does) and `application/octet-stream` for an object S3 keeps no
            // type for, whatever the backend sends.
            continue;
        }
        // Each side wrote at its own time: Last-Modified must be there, its
        // value is not compared.
        let same = if k == "last-modified" {
            x.is_some() == y.is_some()
        } else if k.starts_with("x-amz-meta-") {
            x.map(|v| decoded_meta(v)) == y.map(|v| decoded_meta(v))
        } else {
            x == y
        };
        if !same {
            out.push(format!(
                "header {k}: {} {:?}, {} {:?}",
                names.subject, x, names.reference, y
            ));
        }
    }
    out
}

/// A ListObjectsV2 document, as both sides are compared on it.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Listing {
    pub name: Option<String>,
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    pub max_keys: Option<i64>,
    pub key_count: Option<i64>,
    pub is_truncated: Option<bool>,
    pub start_after: Option<String>,
    pub encoding_type: Option<String>,
    #[serde(skip_deserializing)]
    pub has_continuation_token: bool,
    #[serde(rename = "ContinuationToken")]
    pub continuation_token: Option<String>,
    #[serde(rename = "NextContinuationToken")]
    pub next_continuation_token: Option<String>,
    #[serde(skip_deserializing)]
    pub has_next_continuation_token: bool,
    pub contents: Vec<Entry>,
    pub common_prefixes: Vec<CommonPrefix>,
}

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Entry {
    pub key: String,
    pub size: Option<i64>,
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    pub storage_class: Option<String>,
}

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CommonPrefix {
    pub prefix: String,
}

/// The tags of a GetObjectTagging answer, in order.
fn tag_set(body: &[u8]) -> Option<Vec<(String, String)>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Tagging {
        tag_set: TagSet,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct TagSet {
        #[serde(default)]
        tag: Vec<Tag>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Tag {
        key: String,
        value: String,
    }
    let tagging: Tagging = quick_xml::de::from_str(std::str::from_utf8(body).ok()?).ok()?;
    Some(
        tagging
            .tag_set
            .tag
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect(),
    )
}

/// The listing with what differs per side by design taken out: the bucket
/// name, the opaque tokens (only their presence counts); absent and empty
/// strings are the same.
pub fn parse_listing(body: &[u8], bucket: &str) -> Option<Listing> {
    let text = std::str::from_utf8(body).ok()?;
    let mut l: Listing = quick_xml::de::from_str(text).ok()?;
    let blank = |v: &mut Option<String>| {
        if v.as_deref() == Some("") {
            *v = None;
        }
    };
    if l.name.as_deref() == Some(bucket) {
        l.name = Some("{bucket}".into());
    }
    blank(&mut l.prefix);
    blank(&mut l.delimiter);
    blank(&mut l.start_after);
    blank(&mut l.continuation_token);
    blank(&mut l.next_continuation_token);
    l.has_continuation_token = l.continuation_token.take().is_some();
    l.has_next_continuation_token = l.next_continuation_token.take().is_some();
    Some(l)
}

impl Listing {
    /// One line per field and per entry, to show only what differs.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("Name={:?}", self.name),
            format!("Prefix={:?}", self.prefix),
            format!("Delimiter={:?}", self.delimiter),
            format!("MaxKeys={:?}", self.max_keys),
            format!("KeyCount={:?}", self.key_count),
            format!("IsTruncated={:?}", self.is_truncated),
            format!("StartAfter={:?}", self.start_after),
            format!("EncodingType={:?}", self.encoding_type),
            format!("ContinuationToken present={}", self.has_continuation_token),
            format!(
                "NextContinuationToken present={}",
                self.has_next_continuation_token
            ),
        ];
        for (i, e) in self.contents.iter().enumerate() {
            out.push(format!(
                "Contents[{i}] Key={:?} Size={:?} ETag={:?} StorageClass={:?}",
                e.key, e.size, e.etag, e.storage_class
            ));
        }
        for (i, p) in self.common_prefixes.iter().enumerate() {
            out.push(format!("CommonPrefixes[{i}]={:?}", p.prefix));
        }
        out
    }
}

pub fn next_token(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let l: Listing = quick_xml::de::from_str(text).ok()?;
    l.next_continuation_token.filter(|t| !t.is_empty())
}

pub struct Names {
    pub subject: &'static str,
    pub reference: &'static str,
    /// The subject is the proxy: no answer from the backend is its 502/504.
    pub proxied: bool,
}

/// Whether a difference in `header` of `key` between the states after
/// `call` (`after`: subject, reference) is a known deviation of moto's, the
/// reference: its CopyObject keeps the destination's earlier tags (adding
/// the source's), where S3 with the default `x-amz-tagging-directive: COPY`
/// gives the copy the source's tag set ("the object tag-set is copied from
/// the source object"), as the store does. So: the store's tag count after
/// the copy is the source's before it, and moto's is not. `before` is each
/// side's state before the call.
pub fn copy_kept_old_tags(
    call: &Call,
    before: (&State, &State),
    after: (&State, &State),
    key: &str,
    header: &str,
) -> bool {
    let header_of = |name: &str| {
        call.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    // `/{bucket}/{key}`, the bucket the subject's.
    let source = header_of("x-amz-copy-source")
        .and_then(|v| v.trim_start_matches('/').split_once('/'))
        .map(|(_, source)| source);
    let count = |state: &State, key: &str| {
        state
            .object(key)
            .and_then(|o| o.headers.get("x-amz-tagging-count").cloned())
    };
    header == "x-amz-tagging-count"
        && call.method == "PUT"
        && call.key.as_deref() == Some(key)
        && header_of("x-amz-tagging-directive").is_none()
        && source.is_some_and(|source| count(after.0, key) == count(before.0, source))
        && count(after.1, key) != count(after.0, key)
}

/// Where the two sides of store-vs-moto may differ for a known reason,
/// named rather than made to agree:
/// - moto answers `If-None-Match: *` on GET/HEAD of an existing object with
///   200 (206 with a Range); RFC 9110 (and S3's "return the object only if
///   its ETag differs") say 304, which the store answers;
/// - moto answers 304 when `If-None-Match` holds (another ETag) and
///   `If-Modified-Since` does not; RFC 9110 ignores If-Modified-Since beside
///   If-None-Match, and the store serves the object;
/// - moto writes an empty tag set `<TagSet/>`, the store `<TagSet></TagSet>`:
///   the same document, so object tagging answers are compared as tag sets;
/// - moto answers `If-Match: *` on an existing object with 412; `*` matches
///   any current representation (RFC 9110), so the store serves it;
/// - moto answers 412 when `If-Match` holds and `If-Unmodified-Since` does
///   not; S3 ("If-Match evaluates to true and If-Unmodified-Since to false:
///   200 OK") and RFC 9110 (ignore If-Unmodified-Since beside If-Match) serve
///   the object, as the store does;
/// - moto's 304 leaves out Last-Modified, which the store (as S3) sends;
/// - moto ignores `response-*` overrides on HEAD, which S3's HeadObject
///   takes (and the store and the proxy apply);
/// - moto applies conditional headers and Range to object tagging calls,
///   which take neither; CopyObject (refused by the proxy) is compared on status and state;
/// - moto leaves out the `Prefix` a ListMultipartUploads was given, which S3
///   answers (as the store does);
/// - s3s refuses (400 InvalidRequest) a conditional header given twice,
///   where moto takes one of them: S3 does not say which holds, and the
///   proxy refuses it too;
/// - s3s 0.14, the store's protocol layer, refuses (400) a Range header S3
///   ignores (several ranges, a last before the first) before the operation
///   runs; the proxy never sends such a Range (it drops it, as S3 would
///   ignore it), so only direct clients of the store see the 400;
/// - the store refuses (400 InvalidArgument, "Conflicting query string
///   parameters") a request naming two operations (`?tagging&uploadId`),
///   where moto runs one of them: S3 does not document which would run; the
///   proxy refuses such a request too, and no SDK sends one.
///
/// - moto crashes on some requests (a 500 with Flask's HTML page: a
///   malformed Range on `?tagging`), which says nothing of S3;
/// - moto's CopyObject keeps the destination's earlier tags, where S3 gives
///   the copy the source's ([`copy_kept_old_tags`], in the bucket's state);
/// - moto serves a whole empty object (200) for a suffix range
///   (`bytes=-3`); an empty object has no byte to serve: the store answers
///   416 InvalidRange, as for `bytes=0-`.
///
/// And in a listing ([`diff_answers`]): moto leaves out the
/// `ContinuationToken` and the `StartAfter` a continued ListObjectsV2 was
/// given; S3 includes both ("If ContinuationToken was sent with the request,
/// it is included in the response", and the same of StartAfter), as the
/// store does.
fn known_deviation(call: &Call, a: &Answer, b: &Answer) -> bool {
    let header = |name: &str| {
        call.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let star = header("if-none-match") == Some("*");
    // (moto also checks a Range before the condition: 416 where RFC 9110
    // evaluates the precondition first.)
    let moto_star = star && a.status == 304 && matches!(b.status, 200 | 206 | 416);
    let moto_empty_range = header("range").is_some_and(|r| r.starts_with("bytes=-"))
        && a.status == 416
        && b.status == 200
        && b.headers.get("content-length").is_some_and(|l| l == "0");
    let moto_modified = header("if-none-match").is_some_and(|v| v != "*")
        && header("if-modified-since").is_some()
        && matches!(a.status, 200 | 206)
        && b.status == 304;
    let tagging = call.query.iter().any(|(k, _)| *k == "tagging");
    let same_tags = tagging
        && a.status == 200
        && b.status == 200
        && tag_set(&a.body).is_some_and(|tags| Some(tags) == tag_set(&b.body));
    let moto_match_star = header("if-match") == Some("*") && b.status == 412 && a.status != 412;
    let moto_unmodified = header("if-match").is_some()
        && header("if-unmodified-since").is_some()
        && b.status == 412
        && matches!(a.status, 200 | 206);
    // S3's object tagging operations take no conditional headers (moto
    // applies them); CopyObject, which the proxy refuses, is compared by its
    // status and the bucket's state only (s3s writes its result without
    // S3's namespace, and S3 answers no ETag header for it).
    let moto_tagging = call.query.iter().any(|(k, _)| *k == "tagging")
        && matches!(b.status, 206 | 304 | 412 | 416);
    let copy = header("x-amz-copy-source").is_some() && a.status == b.status;
    let moto_304 = a.status == 304 && b.status == 304;
    let moto_prefix = call.query.iter().any(|(k, _)| *k == "uploads") && a.status == b.status;
    let s3s_range = header("range")
        .is_some_and(|r| s3_proxy::operation::ByteRange::parse(r).is_none())
        && a.status == 400
        && (a.code == "InvalidArgument" || call.method == "HEAD");
    let bodiless = |code: &str| a.code == code || call.method == "HEAD";
    let duplicated = call.headers.iter().enumerate().any(|(i, (n, _))| {
        call.headers[..i]
            .iter()
            .any(|(seen, _)| seen.eq_ignore_ascii_case(n))
    });
    let s3s_duplicate = duplicated && a.status == 400 && bodiless("InvalidRequest");
    // `versionId=null` names the one version an object of an unversioned
    // bucket has (S3 answers it); moto fails it with an HTML 400.
    let html = |x: &Answer| {
        x.headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    };
    let html_400 = |x: &Answer| x.status == 400 && html(x);
    let moto_null_version = call
        .query
        .iter()
        .any(|(k, v)| *k == "versionId" && *v == Some("null"))
        && (html_400(a) || html_400(b));
    let subresources = call
        .query
        .iter()
        .filter(|(k, _)| s3_proxy::local::server::SUBRESOURCES.contains(k))
        .count();
    let two_operations = subresources > 1 && a.status == 400 && a.code == "InvalidArgument";
    let moto_crash = b.status == 500 && html(b);
    moto_star
        || moto_crash
        || moto_empty_range
        || moto_modified
        || same_tags
        || two_operations
        || moto_match_star
        || moto_unmodified
        || moto_tagging
        || copy
        || moto_304
        || moto_prefix
        || s3s_range
        || s3s_duplicate
        || moto_null_version
}

pub fn diff_answers(
    call: &Call,
    a: &Answer,
    b: &Answer,
    buckets: (&str, &str),
    names: &Names,
) -> Vec<String> {
    if !names.proxied && known_deviation(call, a, b) {
        return Vec::new();
    }
    // For every pair of sides: moto ignores response-* on HEAD (S3 takes
    // them); 304s differ in which representation headers they repeat (RFC
    // 9110 asks only for the validators); moto implements no SSE-C, so the
    // proxy, which checks that S3 confirmed it, answers 502 where moto's own
    // client got a 200 for a plaintext object.
    let head_overrides = call.method == "HEAD"
        && call.query.iter().any(|(k, _)| k.starts_with("response-"))
        && a.status == b.status;
    let not_modified = a.status == 304 && b.status == 304;
    let moto_ssec = names.proxied
        && a.status == 502
        && b.status == 200
        && call
            .headers
            .iter()
            .any(|(n, _)| n.starts_with("x-amz-server-side-encryption-customer-"));
    // A suffix range of an empty object: the proxy applies a HEAD's range
    // itself where the store ignored it (moto serves the empty object
    // whole), and no byte is there to serve: 416, as the embedded store
    // answers.
    let empty_suffix = names.proxied
        && call
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("range") && v.starts_with("bytes=-"))
        && a.status == 416
        && b.status == 200
        && b.headers.get("content-length").is_some_and(|l| l == "0");
    // An empty response-* override is no override (issue 12: no empty
    // header); moto answers the empty value.
    let empty_override = names.proxied
        && a.status == b.status
        && call
            .query
            .iter()
            .any(|(k, v)| k.starts_with("response-") && v.is_none_or(str::is_empty));
    if head_overrides || not_modified || moto_ssec || empty_override || empty_suffix {
        return Vec::new();
    }
    let statuses_agree =
        a.status == b.status || (names.proxied && b.status == 0 && matches!(a.status, 502 | 504));
    if !statuses_agree {
        return vec![format!(
            "status: {} {}, {} {}",
            names.subject,
            a.summary(),
            names.reference,
            b.summary()
        )];
    }
    if a.status >= 400 || a.status == 0 {
        return if a.code == b.code || a.status == 0 || b.status == 0 {
            Vec::new()
        } else {
            vec![format!(
                "error code: {} {}, {} {}",
                names.subject, a.code, names.reference, b.code
            )]
        };
    }
    let mut out = Vec::new();
    let object_read = call.key.is_some() && matches!(call.method, "GET" | "HEAD");
    let object_write = call.key.is_some() && matches!(call.method, "PUT" | "DELETE");
    if object_read {
        // Accept-Ranges belongs to a 200 or 206, not to a 304.
        let ranged = matches!(a.status, 200 | 206);
        out.extend(diff_headers(
            &a.headers,
            &b.headers,
            &|k| ranged || k != "accept-ranges",
            names,
        ));
    } else if object_write {
        out.extend(diff_headers(
            &a.headers,
            &b.headers,
            &compared_on_write,
            names,
        ));
    }
    let listing = call.key.is_none() && call.method == "GET" && a.status == 200;
    let parsed = if listing {
        parse_listing(&a.body, buckets.0).zip(parse_listing(&b.body, buckets.1))
    } else {
        None
    };
    match parsed {
        Some((x, mut y)) => {
            let continued = call.list.as_ref().is_some_and(|(_, token)| token.is_some());
            if !names.proxied && continued {
                // moto leaves the given token and StartAfter out
                // ([`known_deviation`]).
                y.has_continuation_token |= x.has_continuation_token;
                if y.start_after.is_none() {
                    y.start_after.clone_from(&x.start_after);
                }
            }
            if x != y {
                let (lx, ly) = (x.lines(), y.lines());
                let only = |a: &[String], b: &[String]| -> Vec<String> {
                    a.iter().filter(|l| !b.contains(l)).cloned().collect()
                };
                out.push(format!(
                    "listing: {} has {:?}, {} has {:?}",
                    names.subject,
                    only(&lx, &ly),
                    names.reference,
                    only(&ly, &lx)
                ));
            }
        }
        None => {
            let x = String::from_utf8_lossy(&a.body).replace(buckets.0, "{bucket}");
            let y = String::from_utf8_lossy(&b.body).replace(buckets.1, "{bucket}");
            if a.body.len() != b.body.len() || x != y {
                out.push(format!(
                    "body: {} {}, {} {}",
                    names.subject,
                    excerpt(x.as_bytes()),
                    names.reference,
                    excerpt(y.as_bytes())
                ));
            }
        }
    }
    out
}
