//! Differential tests (issues 12 and 13): random sequences of S3 operations
//! made on two sides at once and compared after every step.
//!
//! - `proxy_matches_direct_s3`: each step goes through the proxy (REST v1
//!   event -> Lambda boundary -> handler, `tests/common`'s Harness) on one
//!   bucket and, side by side, straight to the same backend with aws-sdk-s3
//!   on a second bucket. The embedded store by default; moto (or any S3) with
//!   `S3_PROXY_TEST_ENDPOINT` (`make test-moto`).
//! - `store_matches_moto`: the same sequences made with aws-sdk-s3 against
//!   the embedded store and against moto's S3 server
//!   (`S3_PROXY_DIFF_MOTO_ENDPOINT`, set by `make test-moto`; skipped with a
//!   printed reason when unset).
//!
//! Steps: PUT (content type, metadata, Cache-Control, `If-None-Match: *`,
//! `If-Match`), GET and HEAD (ranges, `If-Match`, `If-None-Match`,
//! `If-Modified-Since`, `If-Unmodified-Since`), DELETE, ListObjectsV2 (prefix,
//! delimiter, start-after, max-keys, continuation), DeleteBucket. About two
//! steps in five also carry extra query parameters (S3 sub-resources and
//! junk) and/or extra `x-amz-*` headers (SSE, SSE-C, tagging, object lock,
//! metadata, junk). For those the subject (proxy, or store) must either
//! refuse them (4xx or 501, with an S3 error code) and leave its bucket
//! unchanged, or do exactly what the reference (S3 itself with the same
//! parameter, or moto) does.
//!
//! Compared after every step: status, S3 error code, body bytes (listings as
//! parsed documents), the object headers, and each bucket's whole state (every
//! key with its bytes and headers, read straight from the backend). Bucket
//! names are replaced by `{bucket}` before comparing. Values that name the
//! side's own state (the current ETag, Last-Modified, continuation tokens) are
//! resolved per side.
//!
//! A divergence is shrunk (proptest) to a minimal sequence, printed with both
//! answers; the run goes on looking for other kinds of divergence until its
//! budget is spent, then fails listing each one found.
//!
//! Settings (environment): `DIFFTEST_CASES` sequences per test (default 40),
//! `DIFFTEST_STEPS` most steps per sequence (default 12), `DIFFTEST_SECONDS`
//! time budget per test including shrinking (default 35), `DIFFTEST_SEED`
//! (printed by every run; the same seed replays the same sequences).

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use common::{Harness, TIMEOUT};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use s3_proxy::local::gateway::HttpRequest;
use s3_proxy::local::server;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// --- settings -------------------------------------------------------------

struct Settings {
    cases: u32,
    max_steps: usize,
    budget: Duration,
    seed: u64,
}

impl Settings {
    fn from_env() -> Self {
        fn num<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        }
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        Self {
            cases: num("DIFFTEST_CASES", 40),
            max_steps: num("DIFFTEST_STEPS", 12).max(1),
            budget: Duration::from_secs(num("DIFFTEST_SECONDS", 35)),
            seed: num("DIFFTEST_SEED", clock ^ u64::from(std::process::id())),
        }
    }
}

/// Printed whatever libtest captures: the run's counts belong in `make test`'s log.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

// --- the operations -------------------------------------------------------

/// The keys every sequence works on: `a`, `a/` and `a/b` coexist in S3; a
/// folder marker; multi-byte and reserved characters; several levels.
const KEYS: &[&str] = &[
    "a",
    "a/b",
    "dir/x.txt",
    "a/",
    "b.txt",
    "dir/sub/y.json",
    "é/ü 1",
    "a/b/c",
    "z%+",
];
const PREFIXES: &[&str] = &["", "a", "a/", "dir/", "d", "é", "zz"];
const DELIMITERS: &[&str] = &["/", "", "é", "/s", "b", "."];
const START_AFTER: &[&str] = &["", "a", "a/", "b", "dir/x.txt", "é"];
const MAX_KEYS: &[i32] = &[0, 1, 2, 1000];
const CONTENT_TYPES: &[&str] = &["text/plain", "image/png", "application/json"];
const RANGES: &[&str] = &[
    "bytes=0-0",
    "bytes=0-4",
    "bytes=2-",
    "bytes=-3",
    "bytes=5-2",
    "bytes=100-200",
    "bytes=0-1,3-4",
    "l)Wi",
    "bytes=-0",
];
const OTHER_ETAG: &str = "\"0123456789abcdef0123456789abcdef\"";
const LONG_AGO: &str = "Sat, 01 Jan 2000 00:00:00 GMT";
const FUTURE: &str = "Fri, 01 Jan 2100 00:00:00 GMT";
const TAGGING_BODY: &str =
    "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>";

/// Sub-resources and junk a request may carry on top of its operation
/// (`None`: a bare `?name`).
const EXTRA_QUERY: &[(&str, Option<&str>)] = &[
    ("tagging", None),
    ("acl", None),
    ("cors", None),
    ("policy", None),
    ("lifecycle", None),
    ("versioning", None),
    ("website", None),
    ("versions", None),
    ("uploads", None),
    ("uploadId", Some("2~Xo7u")),
    ("uploadId", Some("")),
    ("partNumber", Some("1")),
    ("versionId", Some("null")),
    ("versionId", Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")),
    ("torrent", None),
    ("legal-hold", None),
    ("retention", None),
    ("attributes", None),
    ("encryption", None),
    ("object-lock", None),
    ("logging", None),
    ("notification", None),
    ("requestPayment", None),
    ("publicAccessBlock", None),
    ("restore", None),
    ("location", None),
    ("response-content-type", Some("")),
    ("response-cache-control", Some("no-store")),
    ("foo", Some("bar")),
    ("x-amz-junk", Some("1")),
];

/// `x-amz-*` headers a request may carry, in groups that S3 takes together.
/// `{bucket}` is the side's own bucket.
const EXTRA_HEADERS: &[&[(&str, &str)]] = &[
    &[("x-amz-server-side-encryption", "AES256")],
    &[
        ("x-amz-server-side-encryption", "aws:kms"),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            "alias/difftest",
        ),
    ],
    &[
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        (
            "x-amz-server-side-encryption-customer-key",
            "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        ),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            "KRL2k4Yqn1b4RmLdfwsOAQ==",
        ),
    ],
    &[("x-amz-tagging", "k=v")],
    &[("x-amz-object-lock-legal-hold", "ON")],
    &[
        ("x-amz-object-lock-mode", "GOVERNANCE"),
        (
            "x-amz-object-lock-retain-until-date",
            "2100-01-01T00:00:00Z",
        ),
    ],
    &[("x-amz-meta-name", "café")],
    &[("x-amz-meta-extra", "1")],
    &[("x-amz-website-redirect-location", "/elsewhere")],
    &[("x-amz-storage-class", "STANDARD_IA")],
    &[("x-amz-request-payer", "requester")],
    &[("x-amz-expected-bucket-owner", "123456789012")],
    &[("x-amz-grant-read", "id=0123456789abcdef")],
    &[("x-amz-copy-source", "/{bucket}/a")],
    &[("x-amz-checksum-mode", "ENABLED")],
    &[("x-amz-bypass-governance-retention", "true")],
    &[("x-amz-mfa", "20899872 301749")],
    &[("x-amz-junk", "1")],
];

/// An ETag a condition names, resolved per side.
#[derive(Debug, Clone, Copy)]
enum Tag {
    /// The key's ETag on that side now (a made-up one when it has none).
    Current,
    Other,
    Star,
}

/// A date a condition names, resolved per side.
#[derive(Debug, Clone, Copy)]
enum When {
    LongAgo,
    Future,
    /// The key's Last-Modified on that side.
    LastModified,
    /// One second before it.
    BeforeLastModified,
}

/// A conditional header, its value resolved per side.
#[derive(Debug, Clone, Copy)]
enum Cond {
    Match(Tag),
    NoneMatch(Tag),
    ModifiedSince(When),
    UnmodifiedSince(When),
}

#[derive(Debug, Clone)]
enum Body {
    Bytes(Vec<u8>),
    Tagging,
}

#[derive(Debug, Clone)]
struct List {
    prefix: Option<&'static str>,
    delimiter: Option<&'static str>,
    start_after: Option<&'static str>,
    max_keys: Option<i32>,
}

#[derive(Debug, Clone)]
enum Op {
    Put {
        key: usize,
        body: Body,
        content_type: Option<&'static str>,
        meta: bool,
        cache_control: bool,
        cond: Option<Cond>,
    },
    Get {
        key: usize,
        range: Option<&'static str>,
        conds: Vec<Cond>,
    },
    Head {
        key: usize,
        range: Option<&'static str>,
        conds: Vec<Cond>,
    },
    Delete {
        key: usize,
    },
    List(List),
    /// The previous listing again with its NextContinuationToken.
    ListNext,
    DeleteBucket,
}

#[derive(Debug, Clone)]
struct Step {
    op: Op,
    query: Vec<(&'static str, Option<&'static str>)>,
    headers: Vec<&'static [(&'static str, &'static str)]>,
}

impl Step {
    fn has_extras(&self) -> bool {
        !self.query.is_empty() || !self.headers.is_empty()
    }

    /// What kind of step this is, for telling divergences apart: the
    /// operation and its conditions; with extras, the operation and extras.
    fn shape(&self) -> String {
        let mut extras: Vec<String> = self.query.iter().map(|(k, _)| format!("?{k}")).collect();
        extras.extend(self.headers.iter().map(|g| g[0].0.to_string()));
        extras.sort();
        extras.dedup();
        if extras.is_empty() {
            self.base_shape().to_string()
        } else {
            format!("{} + {}", self.kind(), extras.join(" "))
        }
    }

    fn core_shape(&self) -> String {
        if self.has_extras() {
            format!("{} + extras", self.kind())
        } else {
            self.base_shape().to_string()
        }
    }

    /// The S3 operation the method and path name.
    fn kind(&self) -> &'static str {
        match &self.op {
            Op::Put { .. } => "PUT object",
            Op::Get { .. } => "GET object",
            Op::Head { .. } => "HEAD object",
            Op::Delete { .. } => "DELETE object",
            Op::List(_) | Op::ListNext => "ListObjectsV2",
            Op::DeleteBucket => "DeleteBucket",
        }
    }

    /// The operation and its conditions, without extra parameters.
    fn base_shape(&self) -> &'static str {
        match &self.op {
            Op::Put { cond, .. } => match cond {
                Some(Cond::Match(_)) => "PUT object If-Match",
                Some(Cond::NoneMatch(_)) => "PUT object If-None-Match",
                _ => "PUT object",
            },
            Op::Get { range, .. } if range.is_some() => "GET object Range",
            Op::Get { .. } => "GET object",
            Op::Head { range, .. } if range.is_some() => "HEAD object Range",
            Op::Head { .. } => "HEAD object",
            Op::Delete { .. } => "DELETE object",
            Op::List(l) if l.max_keys == Some(0) => "ListObjectsV2 max-keys=0",
            Op::List(l) if l.delimiter.is_some_and(|d| d.chars().count() != 1) => {
                "ListObjectsV2 odd delimiter"
            }
            Op::List(_) => "ListObjectsV2",
            Op::ListNext => "ListObjectsV2 continuation",
            Op::DeleteBucket => "DeleteBucket",
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tag::Current => "<its current ETag>",
            Tag::Other => OTHER_ETAG,
            Tag::Star => "*",
        })
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            When::LongAgo => LONG_AGO,
            When::Future => FUTURE,
            When::LastModified => "<its Last-Modified>",
            When::BeforeLastModified => "<its Last-Modified - 1 s>",
        })
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cond::Match(t) => write!(f, "If-Match: {t}"),
            Cond::NoneMatch(t) => write!(f, "If-None-Match: {t}"),
            Cond::ModifiedSince(w) => write!(f, "If-Modified-Since: {w}"),
            Cond::UnmodifiedSince(w) => write!(f, "If-Unmodified-Since: {w}"),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut query: Vec<String> = Vec::new();
        let mut headers: Vec<String> = Vec::new();
        let target = match &self.op {
            Op::Put {
                key,
                body,
                content_type,
                meta,
                cache_control,
                cond,
            } => {
                headers.extend(content_type.map(|t| format!("Content-Type: {t}")));
                if *meta {
                    headers.push("x-amz-meta-color: blue".into());
                }
                if *cache_control {
                    headers.push("Cache-Control: max-age=60".into());
                }
                headers.extend(cond.map(|c| c.to_string()));
                match body {
                    Body::Bytes(b) => headers.push(format!("<body: {} bytes>", b.len())),
                    Body::Tagging => headers.push(format!("<body: {TAGGING_BODY}>")),
                }
                format!("PUT /{{bucket}}/{}", KEYS[*key])
            }
            Op::Get { key, range, conds } | Op::Head { key, range, conds } => {
                headers.extend(range.map(|r| format!("Range: {r}")));
                headers.extend(conds.iter().map(Cond::to_string));
                let method = if matches!(self.op, Op::Get { .. }) {
                    "GET"
                } else {
                    "HEAD"
                };
                format!("{method} /{{bucket}}/{}", KEYS[*key])
            }
            Op::Delete { key } => format!("DELETE /{{bucket}}/{}", KEYS[*key]),
            Op::List(l) => {
                query.extend(l.prefix.map(|v| format!("prefix={v}")));
                query.extend(l.delimiter.map(|v| format!("delimiter={v}")));
                query.extend(l.start_after.map(|v| format!("start-after={v}")));
                query.extend(l.max_keys.map(|v| format!("max-keys={v}")));
                "GET /{bucket}".to_string()
            }
            Op::ListNext => {
                query.push("<the previous listing's parameters>".into());
                query.push("continuation-token=<its NextContinuationToken>".into());
                "GET /{bucket}".to_string()
            }
            Op::DeleteBucket => "DELETE /{bucket}".to_string(),
        };
        for (k, v) in &self.query {
            query.push(match v {
                Some(v) => format!("{k}={v}"),
                None => k.to_string(),
            });
        }
        for group in &self.headers {
            headers.extend(group.iter().map(|(k, v)| format!("{k}: {v}")));
        }
        f.write_str(&target)?;
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        for h in headers {
            write!(f, "  [{h}]")?;
        }
        Ok(())
    }
}

/// Each sequence one simplification away from `steps`: a step fewer, or one
/// step on the first key, or with a condition, range, extra parameter,
/// header, listing parameter or its body less.
fn simpler(steps: &[Step]) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    for i in 0..steps.len() {
        if steps.len() > 1 {
            let mut fewer = steps.to_vec();
            fewer.remove(i);
            out.push(fewer);
        }
        let mut variants: Vec<Step> = Vec::new();
        let step = &steps[i];
        for q in 0..step.query.len() {
            let mut v = step.clone();
            v.query.remove(q);
            variants.push(v);
        }
        for h in 0..step.headers.len() {
            let mut v = step.clone();
            v.headers.remove(h);
            variants.push(v);
        }
        if let Op::Put { key, .. } | Op::Get { key, .. } | Op::Head { key, .. } | Op::Delete { key } =
            &step.op
            && *key != 0
        {
            let mut v = step.clone();
            if let Op::Put { key, .. }
            | Op::Get { key, .. }
            | Op::Head { key, .. }
            | Op::Delete { key } = &mut v.op
            {
                *key = 0;
            }
            variants.push(v);
        }
        match &step.op {
            Op::Put {
                body,
                content_type,
                meta,
                cache_control,
                cond,
                ..
            } => {
                let put = |f: &dyn Fn(&mut Op)| {
                    let mut v = step.clone();
                    f(&mut v.op);
                    v
                };
                if cond.is_some() {
                    variants.push(put(&|op| {
                        if let Op::Put { cond, .. } = op {
                            *cond = None;
                        }
                    }));
                }
                if content_type.is_some() {
                    variants.push(put(&|op| {
                        if let Op::Put { content_type, .. } = op {
                            *content_type = None;
                        }
                    }));
                }
                if *meta || *cache_control {
                    variants.push(put(&|op| {
                        if let Op::Put {
                            meta,
                            cache_control,
                            ..
                        } = op
                        {
                            *meta = false;
                            *cache_control = false;
                        }
                    }));
                }
                if !matches!(body, Body::Bytes(b) if b.is_empty()) {
                    variants.push(put(&|op| {
                        if let Op::Put { body, .. } = op {
                            *body = Body::Bytes(Vec::new());
                        }
                    }));
                }
            }
            Op::Get { range, conds, .. } | Op::Head { range, conds, .. } => {
                if range.is_some() {
                    let mut v = step.clone();
                    if let Op::Get { range, .. } | Op::Head { range, .. } = &mut v.op {
                        *range = None;
                    }
                    variants.push(v);
                }
                for c in 0..conds.len() {
                    let mut v = step.clone();
                    if let Op::Get { conds, .. } | Op::Head { conds, .. } = &mut v.op {
                        conds.remove(c);
                    }
                    variants.push(v);
                }
            }
            Op::List(l) => {
                let fields: [fn(&mut List); 4] = [
                    |l| l.prefix = None,
                    |l| l.delimiter = None,
                    |l| l.start_after = None,
                    |l| l.max_keys = None,
                ];
                let set = [
                    l.prefix.is_some(),
                    l.delimiter.is_some(),
                    l.start_after.is_some(),
                    l.max_keys.is_some(),
                ];
                for (clear, present) in fields.iter().zip(set) {
                    if present {
                        let mut v = step.clone();
                        if let Op::List(l) = &mut v.op {
                            clear(l);
                        }
                        variants.push(v);
                    }
                }
            }
            Op::Delete { .. } | Op::ListNext | Op::DeleteBucket => {}
        }
        for v in variants {
            let mut seq = steps.to_vec();
            seq[i] = v;
            out.push(seq);
        }
    }
    out
}

fn render(steps: &[Step]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("    {}. {s}\n", i + 1))
        .collect()
}

// --- strategies -----------------------------------------------------------

fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![Just(Tag::Current), Just(Tag::Other), Just(Tag::Star)]
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        Just(When::LongAgo),
        Just(When::Future),
        Just(When::LastModified),
        Just(When::BeforeLastModified)
    ]
}

fn read_cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        tag().prop_map(Cond::Match),
        tag().prop_map(Cond::NoneMatch),
        when().prop_map(Cond::ModifiedSince),
        when().prop_map(Cond::UnmodifiedSince),
    ]
}

fn put_cond() -> impl Strategy<Value = Option<Cond>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(Cond::NoneMatch(Tag::Star))),
        2 => prop_oneof![Just(Tag::Current), Just(Tag::Other)].prop_map(|t| Some(Cond::Match(t))),
    ]
}

fn pick<T: Clone + fmt::Debug + 'static>(values: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(values)
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn range() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(0.3, pick(RANGES))
}

fn conds() -> impl Strategy<Value = Vec<Cond>> {
    prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::collection::vec(read_cond(), 1..=2),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let body = prop_oneof![
        12 => prop::collection::vec(any::<u8>(), 0..24).prop_map(Body::Bytes),
        1 => Just(Body::Tagging),
    ];
    let put = (
        key(),
        body,
        prop::option::weighted(0.7, pick(CONTENT_TYPES)),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.2),
        put_cond(),
    )
        .prop_map(
            |(key, body, content_type, meta, cache_control, cond)| Op::Put {
                key,
                body,
                content_type,
                meta,
                cache_control,
                cond,
            },
        );
    let get =
        (key(), range(), conds()).prop_map(|(key, range, conds)| Op::Get { key, range, conds });
    let head =
        (key(), range(), conds()).prop_map(|(key, range, conds)| Op::Head { key, range, conds });
    let list = (
        prop::option::weighted(0.5, pick(PREFIXES)),
        prop::option::weighted(0.5, pick(DELIMITERS)),
        prop::option::weighted(0.25, pick(START_AFTER)),
        prop::option::weighted(0.5, pick(MAX_KEYS)),
    )
        .prop_map(|(prefix, delimiter, start_after, max_keys)| {
            Op::List(List {
                prefix,
                delimiter,
                start_after,
                max_keys,
            })
        });
    prop_oneof![
        30 => put,
        14 => get,
        7 => head,
        8 => key().prop_map(|key| Op::Delete { key }),
        14 => list,
        4 => Just(Op::ListNext),
        3 => Just(Op::DeleteBucket),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let query = prop_oneof![
        2 => Just(Vec::new()),
        1 => prop::collection::vec(pick(EXTRA_QUERY), 1..=2),
    ];
    let headers = prop_oneof![
        4 => Just(Vec::new()),
        1 => prop::collection::vec(pick(EXTRA_HEADERS), 1..=2),
    ];
    (op(), query, headers).prop_map(|(op, query, headers)| Step { op, query, headers })
}

// --- one side: a bucket, reached through the proxy or straight -----------

/// What a side knows between steps to resolve per-side values.
#[derive(Debug, Clone)]
struct Memory {
    state: State,
    /// The last successful listing's parameters and NextContinuationToken.
    last_list: Option<(List, Option<String>)>,
}

/// One request, resolved for one side.
#[derive(Debug, Clone)]
struct Call {
    method: &'static str,
    key: Option<String>,
    list: Option<(List, Option<String>)>,
    query: Vec<(&'static str, Option<&'static str>)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn resolve_tag(tag: Tag, key: &str, memory: &Memory) -> String {
    match tag {
        Tag::Current => memory
            .state
            .object(key)
            .and_then(|o| o.headers.get("etag").cloned())
            .unwrap_or_else(|| "\"ffffffffffffffffffffffffffffffff\"".to_string()),
        Tag::Other => OTHER_ETAG.to_string(),
        Tag::Star => "*".to_string(),
    }
}

fn resolve_when(when: When, key: &str, memory: &Memory) -> String {
    let last_modified = || {
        memory
            .state
            .object(key)
            .map(|o| o.last_modified.clone())
            .filter(|d| httpdate::parse_http_date(d).is_ok())
    };
    match when {
        When::LongAgo => LONG_AGO.to_string(),
        When::Future => FUTURE.to_string(),
        When::LastModified => last_modified().unwrap_or_else(|| LONG_AGO.to_string()),
        When::BeforeLastModified => last_modified()
            .and_then(|d| httpdate::parse_http_date(&d).ok())
            .map(|t| httpdate::fmt_http_date(t - Duration::from_secs(1)))
            .unwrap_or_else(|| LONG_AGO.to_string()),
    }
}

fn cond_header(cond: Cond, key: &str, memory: &Memory) -> (String, String) {
    match cond {
        Cond::Match(t) => ("if-match".into(), resolve_tag(t, key, memory)),
        Cond::NoneMatch(t) => ("if-none-match".into(), resolve_tag(t, key, memory)),
        Cond::ModifiedSince(w) => ("if-modified-since".into(), resolve_when(w, key, memory)),
        Cond::UnmodifiedSince(w) => ("if-unmodified-since".into(), resolve_when(w, key, memory)),
    }
}

/// The Content-Type the proxy documents for a PUT without one (README, PUT
/// object): guessed from the key's extension, else application/octet-stream.
/// The direct side sends it, so both store the same documented request.
fn documented_content_type(key: &str) -> String {
    mime_guess::from_path(key)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

impl Step {
    fn call(&self, memory: &Memory, bucket: &str, proxied: bool) -> Call {
        let mut call = Call {
            method: "GET",
            key: None,
            list: None,
            query: self.query.clone(),
            headers: Vec::new(),
            body: None,
        };
        match &self.op {
            Op::Put {
                key,
                body,
                content_type,
                meta,
                cache_control,
                cond,
            } => {
                let k = KEYS[*key];
                call.method = "PUT";
                call.key = Some(k.to_string());
                match content_type {
                    Some(t) => call.headers.push(("content-type".into(), t.to_string())),
                    None if !proxied => call
                        .headers
                        .push(("content-type".into(), documented_content_type(k))),
                    None => {}
                }
                if *meta {
                    call.headers
                        .push(("x-amz-meta-color".into(), "blue".into()));
                }
                if *cache_control {
                    call.headers
                        .push(("cache-control".into(), "max-age=60".into()));
                }
                call.headers.extend(cond.map(|c| cond_header(c, k, memory)));
                call.body = Some(match body {
                    Body::Bytes(b) => b.clone(),
                    Body::Tagging => TAGGING_BODY.as_bytes().to_vec(),
                });
            }
            Op::Get { key, range, conds } | Op::Head { key, range, conds } => {
                let k = KEYS[*key];
                call.method = if matches!(self.op, Op::Get { .. }) {
                    "GET"
                } else {
                    "HEAD"
                };
                call.key = Some(k.to_string());
                call.headers
                    .extend(range.map(|r| ("range".to_string(), r.to_string())));
                call.headers
                    .extend(conds.iter().map(|c| cond_header(*c, k, memory)));
            }
            Op::Delete { key } => {
                call.method = "DELETE";
                call.key = Some(KEYS[*key].to_string());
            }
            Op::List(l) => call.list = Some((l.clone(), None)),
            Op::ListNext => {
                // Without a token (the last page was the end), the same
                // listing again: an invented token is refused by S3 but
                // taken by moto, so it would compare nothing useful.
                call.list = Some(match &memory.last_list {
                    Some((l, token)) => (l.clone(), token.clone()),
                    None => (
                        List {
                            prefix: None,
                            delimiter: None,
                            start_after: None,
                            max_keys: None,
                        },
                        None,
                    ),
                })
            }
            Op::DeleteBucket => call.method = "DELETE",
        }
        for group in &self.headers {
            for (k, v) in group.iter() {
                call.headers
                    .push((k.to_string(), v.replace("{bucket}", bucket)));
            }
        }
        call
    }
}

/// An answer as the client sees it.
#[derive(Debug, Clone, Default)]
struct Answer {
    /// 0: no HTTP answer at all (the connection failed).
    status: u16,
    code: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn is_refusal(&self, method: &str) -> bool {
        let refused = (400..500).contains(&self.status) || self.status == 501;
        // HEAD answers carry no body, so no error code either.
        refused && (!self.code.is_empty() || method == "HEAD")
    }

    fn summary(&self) -> String {
        let mut s = format!("{}", self.status);
        if !self.code.is_empty() {
            s.push_str(&format!(" {}", self.code));
        }
        let shown: Vec<String> = self
            .headers
            .iter()
            .filter(|(k, _)| compared_header(k))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        if !shown.is_empty() {
            s.push_str(&format!(" [{}]", shown.join(", ")));
        }
        if !self.body.is_empty() {
            s.push_str(&format!(" body: {}", excerpt(&self.body)));
        }
        s
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(300).collect();
    format!("{text:?} ({} bytes)", body.len())
}

fn error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or_default()
        .to_string()
}

/// Records the last HTTP answer of an SDK call as received: status, headers,
/// and the body when the SDK read it whole (everything but a streamed GET).
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Option<Answer>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "difftest::Capture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        let body = response
            .body()
            .bytes()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        *self.0.lock().unwrap() = Some(Answer {
            status: response.status().as_u16(),
            code: String::new(),
            headers,
            body,
        });
        Ok(())
    }
}

struct Side<'a> {
    client: Client,
    bucket: String,
    /// Through the proxy (the Lambda boundary) when set, else straight.
    proxy: Option<&'a Harness>,
}

static BUCKETS: AtomicU32 = AtomicU32::new(0);

fn bucket_name(label: &str) -> String {
    let n = BUCKETS.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("dt{label}-{:x}{nanos:x}-{n}", std::process::id())
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

impl Side<'_> {
    async fn exec(&self, call: &Call) -> Answer {
        match self.proxy {
            Some(h) => self.through_proxy(h, call).await,
            None => direct(&self.client, &self.bucket, call).await,
        }
    }

    async fn through_proxy(&self, h: &Harness, call: &Call) -> Answer {
        let mut target = format!("/{}", self.bucket);
        if let Some(key) = &call.key {
            let path: Vec<String> = key.split('/').map(encode).collect();
            target.push('/');
            target.push_str(&path.join("/"));
        }
        let mut query: Vec<String> = Vec::new();
        if let Some((l, token)) = &call.list {
            query.extend(l.prefix.map(|v| format!("prefix={}", encode(v))));
            query.extend(l.delimiter.map(|v| format!("delimiter={}", encode(v))));
            query.extend(l.start_after.map(|v| format!("start-after={}", encode(v))));
            query.extend(l.max_keys.map(|v| format!("max-keys={v}")));
            query.extend(
                token
                    .as_ref()
                    .map(|t| format!("continuation-token={}", encode(t))),
            );
        }
        for (k, v) in &call.query {
            query.push(match v {
                Some(v) => format!("{}={}", encode(k), encode(v)),
                None => encode(k),
            });
        }
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query.join("&"));
        }
        let mut req = HttpRequest::new(call.method, &target);
        for (k, v) in &call.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &call.body {
            req = req.body(body.clone());
        }
        let out = h.call(req).await;
        let code = if out.status >= 300 {
            out.code()
        } else {
            String::new()
        };
        Answer {
            status: out.status,
            code,
            headers: out
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.join(",")))
                .collect(),
            body: out.body,
        }
    }

    /// The bucket's whole state, read straight from the backend.
    async fn snapshot(&self) -> State {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_continuation_token(token.clone())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    let text = DisplayErrorContext(&e).to_string();
                    return if text.contains("NoSuchBucket") {
                        State::NoBucket
                    } else {
                        State::Unreadable(text)
                    };
                }
            };
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for key in keys {
            let client = self.client.clone();
            let bucket = self.bucket.clone();
            tasks.spawn(async move {
                let call = Call {
                    method: "GET",
                    key: Some(key.clone()),
                    list: None,
                    query: Vec::new(),
                    headers: Vec::new(),
                    body: None,
                };
                let answer = direct(&client, &bucket, &call).await;
                (key, answer)
            });
        }
        let mut objects = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (key, answer) = joined.expect("snapshot task");
            let last_modified = answer
                .headers
                .get("last-modified")
                .cloned()
                .unwrap_or_default();
            objects.insert(
                key,
                Object {
                    status: answer.status,
                    headers: answer
                        .headers
                        .into_iter()
                        .filter(|(k, _)| compared_header(k) && !TRANSPORT.contains(&k.as_str()))
                        .collect(),
                    body: answer.body,
                    last_modified,
                },
            );
        }
        State::Objects(objects)
    }
}

/// One request straight to the backend with aws-sdk-s3: the operation its
/// method and path name, the listing parameters typed, and every other query
/// parameter and header added to the request before it is signed.
async fn direct(client: &Client, bucket: &str, call: &Call) -> Answer {
    let capture = Capture::default();
    let query = call.query.clone();
    let headers = call.headers.clone();
    let mutate = move |req: &mut aws_smithy_runtime_api::http::Request| {
        let mut uri = req.uri().to_string();
        for (k, v) in &query {
            uri.push(if uri.contains('?') { '&' } else { '?' });
            uri.push_str(&encode(k));
            if let Some(v) = v {
                uri.push('=');
                uri.push_str(&encode(v));
            }
        }
        req.set_uri(uri).expect("a valid URI");
        for (k, v) in &headers {
            req.headers_mut().insert(k.clone(), v.clone());
        }
    };
    macro_rules! send {
        ($builder:expr) => {
            $builder
                .customize()
                .interceptor(capture.clone())
                .mutate_request(mutate)
                .send()
                .await
        };
    }
    let describe = |e: &dyn std::error::Error| DisplayErrorContext(e).to_string();
    let (failure, streamed): (Option<String>, Option<Vec<u8>>) =
        match (call.method, call.key.as_deref()) {
            ("PUT", Some(key)) => {
                let body = ByteStream::from(call.body.clone().unwrap_or_default());
                let r = send!(client.put_object().bucket(bucket).key(key).body(body));
                (r.err().map(|e| describe(&e)), None)
            }
            ("GET", Some(key)) => match send!(client.get_object().bucket(bucket).key(key)) {
                Ok(out) => match out.body.collect().await {
                    Ok(bytes) => (None, Some(bytes.into_bytes().to_vec())),
                    Err(e) => (Some(format!("reading the body: {e}")), None),
                },
                Err(e) => (Some(describe(&e)), None),
            },
            ("HEAD", Some(key)) => {
                let r = send!(client.head_object().bucket(bucket).key(key));
                (r.err().map(|e| describe(&e)), None)
            }
            ("DELETE", Some(key)) => {
                let r = send!(client.delete_object().bucket(bucket).key(key));
                (r.err().map(|e| describe(&e)), None)
            }
            ("DELETE", None) => {
                let r = send!(client.delete_bucket().bucket(bucket));
                (r.err().map(|e| describe(&e)), None)
            }
            ("GET", None) => {
                let (l, token) = call.list.clone().expect("a listing");
                let r = send!(
                    client
                        .list_objects_v2()
                        .bucket(bucket)
                        .set_prefix(l.prefix.map(str::to_string))
                        .set_delimiter(l.delimiter.map(str::to_string))
                        .set_start_after(l.start_after.map(str::to_string))
                        .set_max_keys(l.max_keys)
                        .set_continuation_token(token)
                );
                (r.err().map(|e| describe(&e)), None)
            }
            (method, key) => panic!("no direct call for {method} {key:?}"),
        };
    let captured = capture.0.lock().unwrap().take();
    match captured {
        Some(mut answer) => {
            if let Some(body) = streamed {
                answer.body = body;
            }
            if answer.status >= 300 {
                answer.code = error_code(&answer.body);
            }
            // An answer the SDK could not read as the operation's (another
            // document, e.g. `?acl`'s) still counts as received.
            answer
        }
        None => Answer {
            status: 0,
            code: format!("no answer: {}", failure.unwrap_or_default()),
            ..Answer::default()
        },
    }
}

// --- what is compared -----------------------------------------------------

/// Headers that describe the object (or the operation on it) and must agree.
/// Not compared: transport and per-request headers (Date, request ids,
/// Server), and `x-amz-checksum-*`, which answer the checksum aws-sdk-s3
/// adds on its own to every upload (the proxy's calls and the direct ones
/// alike), not anything the client asked for.
fn compared_header(name: &str) -> bool {
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
const TRANSPORT: &[&str] = &["last-modified", "accept-ranges"];

/// Headers compared on a PUT or DELETE answer (no entity headers there).
fn compared_on_write(name: &str) -> bool {
    name == "etag" || (compared_header(name) && name.starts_with("x-amz-"))
}

#[derive(Debug, Clone, PartialEq)]
struct Object {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    /// Per side (each wrote at its own time): used to resolve conditions,
    /// not compared.
    last_modified: String,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    NoBucket,
    Unreadable(String),
    Objects(BTreeMap<String, Object>),
}

impl State {
    fn object(&self, key: &str) -> Option<&Object> {
        match self {
            State::Objects(objects) => objects.get(key).filter(|o| o.status == 200),
            _ => None,
        }
    }

    fn describe(&self) -> String {
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

/// Differences between two states (Last-Modified aside).
fn diff_states(a: &State, b: &State, names: &Names) -> Vec<String> {
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
                    diff_headers(&x.headers, &y.headers, &|_| true, names)
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

fn diff_headers(
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
struct Listing {
    name: Option<String>,
    prefix: Option<String>,
    delimiter: Option<String>,
    max_keys: Option<i64>,
    key_count: Option<i64>,
    is_truncated: Option<bool>,
    start_after: Option<String>,
    encoding_type: Option<String>,
    #[serde(skip_deserializing)]
    has_continuation_token: bool,
    #[serde(rename = "ContinuationToken")]
    continuation_token: Option<String>,
    #[serde(rename = "NextContinuationToken")]
    next_continuation_token: Option<String>,
    #[serde(skip_deserializing)]
    has_next_continuation_token: bool,
    contents: Vec<Entry>,
    common_prefixes: Vec<CommonPrefix>,
}

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Entry {
    key: String,
    size: Option<i64>,
    #[serde(rename = "ETag")]
    etag: Option<String>,
    storage_class: Option<String>,
}

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CommonPrefix {
    prefix: String,
}

/// The listing with what differs per side by design taken out: the bucket
/// name, the opaque tokens (only their presence counts); absent and empty
/// strings are the same.
fn parse_listing(body: &[u8], bucket: &str) -> Option<Listing> {
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
    fn lines(&self) -> Vec<String> {
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

fn next_token(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let l: Listing = quick_xml::de::from_str(text).ok()?;
    l.next_continuation_token.filter(|t| !t.is_empty())
}

struct Names {
    subject: &'static str,
    reference: &'static str,
    /// The subject is the proxy: no answer from the backend is its 502/504.
    proxied: bool,
}

fn diff_answers(
    call: &Call,
    a: &Answer,
    b: &Answer,
    buckets: (&str, &str),
    names: &Names,
) -> Vec<String> {
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
        Some((x, y)) => {
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

// --- running sequences ----------------------------------------------------

#[derive(Debug, Clone)]
struct Divergence {
    /// 0-based index of the step that diverged.
    step: usize,
    shape: String,
    core_shape: String,
    /// What differed, first line first.
    details: Vec<String>,
    answers: String,
}

impl Divergence {
    /// What differed first: `status`, `header etag`, `state`, ...
    fn what(&self) -> &str {
        let first = self.details.first().map(String::as_str).unwrap_or_default();
        let what = first.split(':').next().unwrap_or_default();
        if what.starts_with("state") {
            "state"
        } else {
            what
        }
    }

    /// What kind of divergence: the step's shape (its operation and
    /// conditions, or for a step with extras its operation and extras) and
    /// what differed.
    fn signature(&self) -> String {
        format!("{} -> {}", self.shape, self.what())
    }

    /// What shrinking keeps: the same operation and conditions (with extras:
    /// the same operation, and some extras), and the same first difference.
    fn core(&self) -> String {
        format!("{} -> {}", self.core_shape, self.what())
    }
}

#[derive(Debug, Default)]
struct Counts {
    steps: usize,
    refused: usize,
}

struct Pair<'a> {
    subject: Side<'a>,
    reference: Side<'a>,
    names: Names,
}

impl Pair<'_> {
    async fn run(&mut self, steps: &[Step], counts: &mut Counts) -> Result<(), Divergence> {
        let (label_s, label_r) = ("s", "r");
        self.subject.bucket = bucket_name(label_s);
        self.reference.bucket = bucket_name(label_r);
        for side in [&self.subject, &self.reference] {
            side.client
                .create_bucket()
                .bucket(&side.bucket)
                .send()
                .await
                .unwrap_or_else(|e| panic!("create {}: {}", side.bucket, DisplayErrorContext(&e)));
        }
        let result = self.steps(steps, counts).await;
        for side in [&self.subject, &self.reference] {
            common::empty_and_delete(&side.client, &side.bucket).await;
        }
        result
    }

    async fn steps(&self, steps: &[Step], counts: &mut Counts) -> Result<(), Divergence> {
        let mut mem_s = Memory {
            state: self.subject.snapshot().await,
            last_list: None,
        };
        let mut mem_r = Memory {
            state: self.reference.snapshot().await,
            last_list: None,
        };
        let names = &self.names;
        let buckets = (self.subject.bucket.as_str(), self.reference.bucket.as_str());
        for (i, step) in steps.iter().enumerate() {
            counts.steps += 1;
            let call_s = step.call(&mem_s, buckets.0, names.proxied);
            let call_r = step.call(&mem_r, buckets.1, false);
            let diverged = |details: Vec<String>, a: &Answer, b: Option<&Answer>| Divergence {
                step: i,
                shape: step.shape(),
                core_shape: step.core_shape(),
                details,
                answers: format!(
                    "{}: {}\n{}: {}",
                    names.subject,
                    a.summary().replace(buckets.0, "{bucket}"),
                    names.reference,
                    b.map(|b| b.summary().replace(buckets.1, "{bucket}"))
                        .unwrap_or_else(|| "(not sent: the subject refused)".into())
                ),
            };
            let (a, b, state_s, state_r) = if step.has_extras() {
                let a = self.subject.exec(&call_s).await;
                let state_s = self.subject.snapshot().await;
                if a.is_refusal(call_s.method) {
                    if state_s == mem_s.state {
                        counts.refused += 1;
                        continue;
                    }
                    let mut details = vec![format!(
                        "state: refused ({}) yet the bucket changed",
                        a.summary()
                    )];
                    details.extend(diff_states(
                        &state_s,
                        &mem_s.state,
                        &Names {
                            subject: "after",
                            reference: "before",
                            proxied: false,
                        },
                    ));
                    return Err(diverged(details, &a, None));
                }
                let b = self.reference.exec(&call_r).await;
                let state_r = self.reference.snapshot().await;
                (a, b, state_s, state_r)
            } else {
                let (a, b) = tokio::join!(self.subject.exec(&call_s), self.reference.exec(&call_r));
                let (state_s, state_r) =
                    tokio::join!(self.subject.snapshot(), self.reference.snapshot());
                (a, b, state_s, state_r)
            };
            let mut details = diff_answers(&call_s, &a, &b, buckets, names);
            details.extend(diff_states(&state_s, &state_r, names));
            if !details.is_empty() {
                return Err(diverged(details, &a, Some(&b)));
            }
            if let Some((l, _)) = &call_s.list
                && a.status == 200
            {
                mem_s.last_list = Some((l.clone(), next_token(&a.body)));
                mem_r.last_list = Some((l.clone(), next_token(&b.body)));
            }
            mem_s.state = state_s;
            mem_r.state = state_r;
        }
        Ok(())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Found {
    signature: String,
    steps: Vec<Step>,
    divergence: Divergence,
    seen: usize,
}

/// Runs random sequences on `pair` until the case count or the time budget
/// is reached; shrinks each new kind of divergence; fails listing them all.
fn differential(rt: &tokio::runtime::Runtime, title: &str, mut pair: Pair<'_>) {
    let settings = Settings::from_env();
    let started = Instant::now();
    let deadline = started + settings.budget;
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&(settings.seed.rotate_left(i as u32 * 16) ^ i as u64).to_le_bytes());
    }
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig {
            failure_persistence: None,
            ..RunnerConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    );
    let strategy = prop::collection::vec(step(), 1..=settings.max_steps);
    let mut counts = Counts::default();
    let mut sequences = 0u32;
    let mut found: Vec<Found> = Vec::new();
    say(&format!(
        "differential {title}: seed {} (DIFFTEST_SEED), up to {} sequences of up to {} steps in {} s",
        settings.seed,
        settings.cases,
        settings.max_steps,
        settings.budget.as_secs()
    ));
    while sequences < settings.cases && Instant::now() < deadline {
        let mut tree = strategy.new_tree(&mut runner).expect("a sequence");
        sequences += 1;
        let steps = tree.current();
        let Err(mut first) = rt.block_on(pair.run(&steps, &mut counts)) else {
            continue;
        };
        let mut best = (steps[..=first.step].to_vec(), first.clone());
        // A step with extras that diverges just as well without them shows a
        // divergence of its operation, not of the extras: shrink that one.
        let mut walk = true;
        let mut plain = best.0.clone();
        let extras = plain.last().is_some_and(Step::has_extras);
        if let Some(last) = plain.last_mut().filter(|_| extras) {
            last.query.clear();
            last.headers.clear();
            if let Err(d) = rt.block_on(pair.run(&plain, &mut Counts::default()))
                && d.step == first.step
            {
                first = d.clone();
                best = (plain, d);
                walk = false;
            }
        }
        if let Some(known) = found.iter_mut().find(|f| f.signature == first.signature()) {
            known.seen += 1;
            continue;
        }
        let core = first.core();
        let mut runs = 0;
        // At least 10 s of shrinking, even past the budget.
        let shrink_deadline = deadline.max(Instant::now() + Duration::from_secs(10));
        // Shrink: proptest's simplify/complicate walk (unless the extras were
        // dropped above: the tree no longer describes the sequence), each
        // candidate run afresh on new buckets; the last failing one is the
        // minimal.
        while walk && Instant::now() < shrink_deadline && runs < 300 && tree.simplify() {
            loop {
                runs += 1;
                let candidate = tree.current();
                match rt.block_on(pair.run(&candidate, &mut Counts::default())) {
                    Err(d) if d.core() == core => {
                        best = (candidate[..=d.step].to_vec(), d);
                        break;
                    }
                    _ => {
                        if Instant::now() >= shrink_deadline || !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        // Then greedily: drop a step, a condition, an extra, a header.
        while Instant::now() < shrink_deadline {
            let smaller = simpler(&best.0).into_iter().find_map(|candidate| {
                runs += 1;
                match rt.block_on(pair.run(&candidate, &mut Counts::default())) {
                    Err(d) if d.core() == core => Some((candidate[..=d.step].to_vec(), d)),
                    _ => None,
                }
            });
            match smaller {
                Some(found) => best = found,
                None => break,
            }
        }
        let (steps, divergence) = best;
        let signature = divergence.signature();
        if let Some(known) = found.iter_mut().find(|f| f.signature == signature) {
            known.seen += 1;
            continue;
        }
        say(&format!(
            "differential {title}: divergence {} found (sequence {sequences}, shrunk in {runs} runs to {} steps)",
            found.len() + 1,
            steps.len()
        ));
        found.push(Found {
            signature,
            steps,
            divergence,
            seen: 1,
        });
    }
    say(&format!(
        "differential {title}: compared {sequences} sequences, {} steps ({} extras refused and left unchanged), {} kinds of divergence, {:.1} s",
        counts.steps,
        counts.refused,
        found.len(),
        started.elapsed().as_secs_f64()
    ));
    if found.is_empty() {
        return;
    }
    let mut report = format!(
        "{} kinds of divergence between {} and {} (seed {}):\n",
        found.len(),
        pair.names.subject,
        pair.names.reference,
        settings.seed
    );
    for (n, f) in found.iter().enumerate() {
        report.push_str(&format!(
            "\n#{} {} (seen in {} sequences)\n  minimal sequence:\n{}  step {} diverged:\n",
            n + 1,
            f.signature,
            f.seen,
            render(&f.steps),
            f.divergence.step + 1
        ));
        for d in &f.divergence.details {
            report.push_str(&format!("    - {d}\n"));
        }
        for line in f.divergence.answers.lines() {
            report.push_str(&format!("    {line}\n"));
        }
    }
    if let Ok(path) = std::env::var("DIFFTEST_REPORT") {
        let _ = std::fs::write(path, &report);
    }
    panic!("{report}");
}

#[test]
fn proxy_matches_direct_s3() {
    let rt = runtime();
    let h = rt.block_on(Harness::start());
    let title = if h.external {
        "proxy vs aws-sdk-s3 (S3_PROXY_TEST_ENDPOINT)"
    } else {
        "proxy vs aws-sdk-s3 (embedded store)"
    };
    let pair = Pair {
        subject: Side {
            client: h.client.clone(),
            bucket: String::new(),
            proxy: Some(&h),
        },
        reference: Side {
            client: h.client.clone(),
            bucket: String::new(),
            proxy: None,
        },
        names: Names {
            subject: "proxy",
            reference: "S3",
            proxied: true,
        },
    };
    differential(&rt, title, pair);
}

#[test]
fn store_matches_moto() {
    let Some(endpoint) = std::env::var("S3_PROXY_DIFF_MOTO_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        say(
            "differential store vs moto: skipped: S3_PROXY_DIFF_MOTO_ENDPOINT is not set \
             (`make test-moto` sets it to the moto server it starts)",
        );
        return;
    };
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = rt
        .block_on(server::start_store(
            dir.path(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .expect("embedded store starts");
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let moto = server::static_client(
        &endpoint,
        &env("S3_PROXY_TEST_ACCESS_KEY", "test"),
        &env("S3_PROXY_TEST_SECRET_KEY", "test"),
        &env("S3_PROXY_TEST_REGION", "us-east-1"),
        TIMEOUT,
    );
    let pair = Pair {
        subject: Side {
            client: server::local_client(&store.url(), TIMEOUT),
            bucket: String::new(),
            proxy: None,
        },
        reference: Side {
            client: moto,
            bucket: String::new(),
            proxy: None,
        },
        names: Names {
            subject: "store",
            reference: "moto",
            proxied: false,
        },
    };
    differential(&rt, "embedded store vs moto (aws-sdk-s3 both)", pair);
}
