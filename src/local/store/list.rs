//! ListObjectsV2 (and V1) as an ordered range scan over the keys.
//!
//! Entries (objects and CommonPrefixes) come in key order; an entry is
//! listed only if it sorts after the marker (StartAfter, or the continuation
//! token, which is the last entry of the previous page). Once a
//! CommonPrefix is met, the scan jumps past every key under it, so a page
//! costs one seek per CommonPrefix plus one read per listed object, whatever
//! the bucket's size. Any delimiter string works: empty (none), several
//! characters, multi-byte.

use super::db::{self, ObjectRow};
use super::{LocalStore, buckets::OWNER_ID, etag, timestamp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// S3's page size limit.
const MAX_PAGE: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Object(ObjectRow),
    Prefix(String),
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Object(o) => &o.key,
            Entry::Prefix(p) => p,
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub truncated: bool,
}

/// The smallest byte string after every string that starts with `prefix`;
/// None if there is none.
fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut bound = prefix.to_vec();
    while let Some(last) = bound.pop() {
        if last < u8::MAX {
            bound.push(last + 1);
            return Some(bound);
        }
    }
    None
}

/// One page of a listing. `seek(from, inclusive, limit)` returns up to
/// `limit` objects in key order starting at `from`.
pub fn list_page<E>(
    prefix: &str,
    delimiter: Option<&str>,
    marker: Option<&str>,
    max: usize,
    mut seek: impl FnMut(&[u8], bool, usize) -> Result<Vec<ObjectRow>, E>,
) -> Result<Page, E> {
    let delimiter = delimiter.filter(|d| !d.is_empty());
    let mut page = Page::default();
    if max == 0 {
        return Ok(page);
    }
    let (mut from, mut inclusive) = match marker {
        Some(m) if m >= prefix => (m.as_bytes().to_vec(), false),
        _ => (prefix.as_bytes().to_vec(), true),
    };
    let batch = (max + 1).min(MAX_PAGE + 1);
    loop {
        let rows = seek(&from, inclusive, batch)?;
        let fetched = rows.len();
        let mut jumped = false;
        for row in rows {
            if !row.key.starts_with(prefix) {
                return Ok(page);
            }
            let rolled = delimiter.and_then(|d| {
                row.key[prefix.len()..]
                    .find(d)
                    .map(|i| row.key[..prefix.len() + i + d.len()].to_string())
            });
            if let Some(common) = rolled {
                if marker.is_none_or(|m| common.as_str() > m) {
                    if page.entries.len() == max {
                        page.truncated = true;
                        return Ok(page);
                    }
                    page.entries.push(Entry::Prefix(common.clone()));
                }
                match after_prefix(common.as_bytes()) {
                    Some(next) => {
                        from = next;
                        inclusive = true;
                        jumped = true;
                        break;
                    }
                    None => return Ok(page),
                }
            }
            if page.entries.len() == max {
                page.truncated = true;
                return Ok(page);
            }
            from = row.key.as_bytes().to_vec();
            inclusive = false;
            page.entries.push(Entry::Object(row));
        }
        if !jumped && fetched < batch {
            return Ok(page);
        }
    }
}

fn encode_token(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(last.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

/// `max-keys`: 0 to 1000 listed (more asked is 1000), negative refused.
fn page_size(max_keys: Option<i32>) -> S3Result<usize> {
    match max_keys {
        None => Ok(MAX_PAGE),
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "max-keys must be between 0 and 2147483647"
        )),
        Some(n) => Ok((n as usize).min(MAX_PAGE)),
    }
}

/// `encoding-type=url`: names percent-encoded as S3 does (slashes kept).
struct Names {
    url: bool,
}

impl Names {
    fn new(encoding: Option<&EncodingType>) -> S3Result<Self> {
        match encoding.map(|e| e.as_str()) {
            None => Ok(Self { url: false }),
            Some(e) if e.eq_ignore_ascii_case("url") => Ok(Self { url: true }),
            Some(_) => Err(s3_error!(
                InvalidArgument,
                "Invalid Encoding Method specified in Request"
            )),
        }
    }

    /// A listed value, URL-encoded as S3 encodes it when asked.
    fn name(&self, s: String) -> String {
        if self.url {
            crate::documents::url_encode(&s)
        } else {
            s
        }
    }
}

/// What a page is asked for.
struct Query {
    bucket: String,
    prefix: String,
    delimiter: Option<String>,
    marker: Option<String>,
    max: usize,
    /// `fetch-owner` (V1 always sends owners).
    owner: bool,
}

struct Listed {
    contents: Option<Vec<Object>>,
    common_prefixes: Option<Vec<CommonPrefix>>,
    count: usize,
    truncated: bool,
    last: Option<String>,
}

impl LocalStore {
    async fn scan_page(&self, query: Query, names: &Names) -> S3Result<Listed> {
        let Query {
            bucket,
            prefix,
            delimiter,
            marker,
            max,
            owner,
        } = query;
        let page = self
            .blocking(move |s| {
                s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    list_page(
                        &prefix,
                        delimiter.as_deref(),
                        marker.as_deref(),
                        max,
                        |from, incl, limit| db::scan(tx, &bucket, from, incl, limit),
                    )
                })
            })
            .await?;
        let last = page.entries.last().map(|e| e.name().to_string());
        let count = page.entries.len();
        let mut contents = Vec::new();
        let mut prefixes = Vec::new();
        for entry in page.entries {
            match entry {
                Entry::Object(o) => contents.push(Object {
                    e_tag: Some(etag(&o.etag)),
                    last_modified: Some(timestamp(o.modified_ms)),
                    size: Some(o.size as i64),
                    storage_class: Some(ObjectStorageClass::from(
                        o.class.unwrap_or_else(|| "STANDARD".into()),
                    )),
                    owner: owner.then(|| Owner {
                        display_name: Some(OWNER_ID.into()),
                        id: Some(OWNER_ID.into()),
                    }),
                    key: Some(names.name(o.key)),
                    ..Default::default()
                }),
                Entry::Prefix(p) => prefixes.push(CommonPrefix {
                    prefix: Some(names.name(p)),
                }),
            }
        }
        Ok(Listed {
            contents: (!contents.is_empty()).then_some(contents),
            common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
            count,
            truncated: page.truncated,
            last,
        })
    }

    pub(super) async fn list_objects_v2_impl(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let names = Names::new(input.encoding_type.as_ref())?;
        let max = page_size(input.max_keys)?;
        let marker = match input.continuation_token.as_deref() {
            Some(token) => Some(decode_token(token)?),
            None => input.start_after.clone(),
        };
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let listed = self
            .scan_page(
                Query {
                    bucket: input.bucket.clone(),
                    prefix: prefix.clone(),
                    delimiter: delimiter.clone(),
                    marker,
                    max,
                    owner: input.fetch_owner.unwrap_or(false),
                },
                &names,
            )
            .await?;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(names.name(prefix)),
            delimiter: delimiter.map(|d| names.name(d)),
            max_keys: Some(input.max_keys.unwrap_or(MAX_PAGE as i32)),
            key_count: Some(listed.count as i32),
            is_truncated: Some(listed.truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: listed
                .truncated
                .then_some(listed.last)
                .flatten()
                .map(|l| encode_token(&l)),
            start_after: input.start_after.map(|s| names.name(s)),
            encoding_type: input.encoding_type,
            contents: listed.contents,
            common_prefixes: listed.common_prefixes,
            ..Default::default()
        }))
    }

    pub(super) async fn list_objects_v1_impl(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let names = Names::new(input.encoding_type.as_ref())?;
        let max = page_size(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let listed = self
            .scan_page(
                Query {
                    bucket: input.bucket.clone(),
                    prefix: prefix.clone(),
                    delimiter: delimiter.clone(),
                    marker: input.marker.clone(),
                    max,
                    owner: true,
                },
                &names,
            )
            .await?;
        // S3 sends NextMarker only with a delimiter; without one, clients
        // continue from the last key.
        let next_marker = (listed.truncated && delimiter.is_some())
            .then_some(listed.last)
            .flatten()
            .map(|l| names.name(l));
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(names.name(prefix)),
            delimiter: delimiter.map(|d| names.name(d)),
            marker: Some(names.name(input.marker.unwrap_or_default())),
            max_keys: Some(input.max_keys.unwrap_or(MAX_PAGE as i32)),
            is_truncated: Some(listed.truncated),
            next_marker,
            encoding_type: input.encoding_type,
            contents: listed.contents,
            common_prefixes: listed.common_prefixes,
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::store::StoreError;

    /// The rows the database would give, from a sorted list of keys.
    fn seek_in<'a>(
        keys: &'a [&'a str],
    ) -> impl FnMut(&[u8], bool, usize) -> Result<Vec<ObjectRow>, StoreError> + 'a {
        move |from, inclusive, limit| {
            let mut sorted: Vec<&str> = keys.to_vec();
            sorted.sort();
            Ok(sorted
                .into_iter()
                .filter(|k| {
                    if inclusive {
                        k.as_bytes() >= from
                    } else {
                        k.as_bytes() > from
                    }
                })
                .take(limit)
                .map(|k| ObjectRow {
                    key: k.to_string(),
                    blob: String::new(),
                    size: 0,
                    etag: String::new(),
                    modified_ms: 0,
                    class: None,
                })
                .collect())
        }
    }

    /// Objects as their keys, prefixes with a trailing `*`.
    fn names(page: &Page) -> Vec<String> {
        page.entries
            .iter()
            .map(|e| match e {
                Entry::Object(o) => o.key.clone(),
                Entry::Prefix(p) => format!("{p}*"),
            })
            .collect()
    }

    /// In byte order: "é" (0xC3 0xA9) sorts after "z".
    const KEYS: &[&str] = &[
        "a", "a/", "a/b", "a/b/c", "a/c", "ab", "b", "b--x--y", "b--z", "z", "é/1", "é/2", "éa",
    ];

    #[test]
    fn pages_follow_s3() {
        let all_slash = vec!["a", "a/*", "ab", "b", "b--x--y", "b--z", "z", "é/*", "éa"];
        // (prefix, delimiter, marker, max-keys, entries, truncated)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            usize,
            Vec<&'a str>,
            bool,
        );
        let cases: Vec<Case> = vec![
            ("", None, None, 1000, KEYS.to_vec(), false),
            ("", Some(""), None, 1000, KEYS.to_vec(), false),
            ("", Some("/"), None, 1000, all_slash.clone(), false),
            (
                "a/",
                Some("/"),
                None,
                1000,
                vec!["a/", "a/b", "a/b/*", "a/c"],
                false,
            ),
            ("a", Some("/"), None, 1000, vec!["a", "a/*", "ab"], false),
            // Multi-character and multi-byte delimiters.
            (
                "",
                Some("--"),
                None,
                1000,
                vec![
                    "a", "a/", "a/b", "a/b/c", "a/c", "ab", "b", "b--*", "z", "é/1", "é/2", "éa",
                ],
                false,
            ),
            ("b", Some("--"), None, 1000, vec!["b", "b--*"], false),
            (
                "",
                Some("é"),
                None,
                1000,
                vec![
                    "a", "a/", "a/b", "a/b/c", "a/c", "ab", "b", "b--x--y", "b--z", "z", "é*",
                ],
                false,
            ),
            (
                "",
                Some("/1"),
                None,
                1000,
                vec![
                    "a", "a/", "a/b", "a/b/c", "a/c", "ab", "b", "b--x--y", "b--z", "z", "é/1*",
                    "é/2", "éa",
                ],
                false,
            ),
            // StartAfter / continuation: only entries after the marker.
            (
                "",
                Some("/"),
                Some("a"),
                1000,
                all_slash[1..].to_vec(),
                false,
            ),
            (
                "",
                Some("/"),
                Some("a/"),
                1000,
                all_slash[2..].to_vec(),
                false,
            ),
            (
                "",
                Some("/"),
                Some("a/b"),
                1000,
                all_slash[2..].to_vec(),
                false,
            ),
            ("", None, Some("a/b"), 3, vec!["a/b/c", "a/c", "ab"], true),
            (
                "a/",
                None,
                Some("0"),
                1000,
                vec!["a/", "a/b", "a/b/c", "a/c"],
                false,
            ),
            ("a/", None, Some("zz"), 1000, vec![], false),
            // max-keys.
            ("", Some("/"), None, 0, vec![], false),
            ("", Some("/"), None, 2, vec!["a", "a/*"], true),
            ("", Some("/"), None, 9, all_slash.clone(), false),
            ("", Some("/"), None, 8, all_slash[..8].to_vec(), true),
            ("nothing", Some("/"), None, 1000, vec![], false),
        ];
        for (prefix, delimiter, marker, max, expected, truncated) in cases {
            let page = list_page(prefix, delimiter, marker, max, seek_in(KEYS)).unwrap();
            let label =
                format!("prefix {prefix:?} delimiter {delimiter:?} marker {marker:?} max {max}");
            assert_eq!(names(&page), expected, "{label}");
            assert_eq!(page.truncated, truncated, "{label}");
        }
    }

    #[test]
    fn continuing_from_each_last_entry_lists_everything_once() {
        for delimiter in [None, Some("/"), Some("--"), Some("é")] {
            for max in 1..5 {
                let mut all = Vec::new();
                let mut marker: Option<String> = None;
                loop {
                    let page =
                        list_page("", delimiter, marker.as_deref(), max, seek_in(KEYS)).unwrap();
                    all.extend(names(&page));
                    if !page.truncated {
                        break;
                    }
                    marker = page.entries.last().map(|e| e.name().to_string());
                }
                let whole = names(&list_page("", delimiter, None, 1000, seek_in(KEYS)).unwrap());
                assert_eq!(all, whole, "delimiter {delimiter:?} max {max}");
            }
        }
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        for last in ["a", "é/", "a b+c%2F", &"k".repeat(1024)] {
            assert_eq!(decode_token(&encode_token(last)).unwrap(), last);
        }
        assert!(decode_token("not base64!").is_err());
    }

    #[test]
    fn after_prefix_is_the_first_string_past_the_prefix() {
        assert_eq!(after_prefix(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(after_prefix(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(after_prefix(b"\xff\xff"), None);
    }
}
