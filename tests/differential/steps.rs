//! What a sequence is made of: the keys and parameters it draws from, the
//! steps (an operation, its conditions, extra parameters), how a step reads
//! in a report, and what kind of step it is.

use super::*;

/// The keys every sequence works on: `a`, `a/` and `a/b` coexist in S3; a
/// folder marker; multi-byte and reserved characters; several levels.
pub const KEYS: &[&str] = &[
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
pub const PREFIXES: &[&str] = &["", "a", "a/", "dir/", "d", "é", "zz"];
pub const DELIMITERS: &[&str] = &["/", "", "é", "/s", "b", "."];
pub const START_AFTER: &[&str] = &["", "a", "a/", "b", "dir/x.txt", "é"];
pub const MAX_KEYS: &[i32] = &[0, 1, 2, 1000];
pub const CONTENT_TYPES: &[&str] = &["text/plain", "image/png", "application/json"];
pub const RANGES: &[&str] = &[
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
pub const OTHER_ETAG: &str = "\"0123456789abcdef0123456789abcdef\"";
pub const LONG_AGO: &str = "Sat, 01 Jan 2000 00:00:00 GMT";
pub const FUTURE: &str = "Fri, 01 Jan 2100 00:00:00 GMT";
pub const TAGGING_BODY: &str =
    "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>";

/// Sub-resources and junk a request may carry on top of its operation
/// (`None`: a bare `?name`).
pub const EXTRA_QUERY: &[(&str, Option<&str>)] = &[
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
    ("aééé", Some("1")),
    ("x-amz-junk", Some("1")),
];

/// `x-amz-*` headers a request may carry, in groups that S3 takes together.
/// `{bucket}` is the side's own bucket.
pub const EXTRA_HEADERS: &[&[(&str, &str)]] = &[
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
pub enum Tag {
    /// The key's ETag on that side now (a made-up one when it has none).
    Current,
    Other,
    Star,
}

/// A date a condition names, resolved per side.
#[derive(Debug, Clone, Copy)]
pub enum When {
    LongAgo,
    Future,
    /// The key's Last-Modified on that side.
    LastModified,
    /// One second before it.
    BeforeLastModified,
}

/// A conditional header, its value resolved per side.
#[derive(Debug, Clone, Copy)]
pub enum Cond {
    Match(Tag),
    NoneMatch(Tag),
    ModifiedSince(When),
    UnmodifiedSince(When),
}

#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Vec<u8>),
    Tagging,
}

#[derive(Debug, Clone)]
pub struct List {
    pub prefix: Option<&'static str>,
    pub delimiter: Option<&'static str>,
    pub start_after: Option<&'static str>,
    pub max_keys: Option<i32>,
}

#[derive(Debug, Clone)]
pub enum Op {
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
pub struct Step {
    pub op: Op,
    pub query: Vec<(&'static str, Option<&'static str>)>,
    pub headers: Vec<&'static [(&'static str, &'static str)]>,
}

impl Step {
    pub fn has_extras(&self) -> bool {
        !self.query.is_empty() || !self.headers.is_empty()
    }

    /// A condition given twice (two If-Match headers): S3 does not say which
    /// one holds, so the proxy may refuse the request (400, nothing changed)
    /// as it may refuse extras.
    pub fn ambiguous(&self) -> bool {
        let conds = match &self.op {
            Op::Get { conds, .. } | Op::Head { conds, .. } => conds,
            _ => return false,
        };
        conds.iter().enumerate().any(|(i, c)| {
            conds[..i]
                .iter()
                .any(|seen| std::mem::discriminant(seen) == std::mem::discriminant(c))
        })
    }

    /// What kind of step this is, for telling divergences apart: the
    /// operation and its conditions; with extras, the operation and extras.
    pub fn shape(&self) -> String {
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

    pub fn core_shape(&self) -> String {
        if self.has_extras() {
            format!("{} + extras", self.kind())
        } else {
            self.base_shape().to_string()
        }
    }

    /// The S3 operation the method and path name.
    pub fn kind(&self) -> &'static str {
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
    pub fn base_shape(&self) -> &'static str {
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
pub fn render(steps: &[Step]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("    {}. {s}\n", i + 1))
        .collect()
}
