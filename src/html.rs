//! The HTML index: pure. A bucket list, or one level of a bucket (delimiter
//! `/`), as a page for a person in a browser: breadcrumbs back up the prefix,
//! folders first, then objects with their size (human-readable, the exact
//! bytes on hover), last modified and a download link, and a link to the next
//! page when S3 cut the list.
//!
//! Served when `HTML_INDEX` is on (the default) and the request's first Accept
//! value is `text/html`, as a browser's navigation sends it; XML and JSON
//! clients never see it. Every bucket name, key and prefix is escaped for
//! HTML, and percent-encoded inside links. The page needs no script: its
//! Content-Security-Policy allows only its own stylesheet (by hash), no
//! script, no frames, no forms.
//!
//! Links are absolute paths under the API's mount point (the stage, or a
//! custom domain's base path), taken from the path the browser asked for
//! ([`mount_of`]): a relative link would lose the stage from `/prod`.

use crate::media::first_accept_value;
use crate::outcome::{BucketList, ObjectList};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use std::fmt::Write;
use std::sync::LazyLock;

/// The page's only style, allowed by its hash in the CSP.
const STYLE: &str = "\
:root{color-scheme:light dark;--muted:#6b7280;--line:#d1d5db;--accent:#1d4ed8}\
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:64rem;padding:1.5rem}\
h1{font-size:1.4rem;margin:.5rem 0;word-break:break-all}\
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}\
.crumbs{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem;padding:0;margin:0;color:var(--muted)}\
.crumbs li+li::before{content:'/';margin-right:.25rem}\
.summary{color:var(--muted);margin:.25rem 0 1rem}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}\
th{font-weight:600;font-size:.85rem;color:var(--muted)}\
td.name{word-break:break-all}td.size,th.size{text-align:right;white-space:nowrap}\
td.date{white-space:nowrap;color:var(--muted)}\
tr.folder td.name a{font-weight:600}tr.folder td.name a::before{content:'\\25B8  ';color:var(--muted)}\
.empty{color:var(--muted);font-style:italic}\
.pages{display:flex;gap:1.5rem;margin-top:1rem}\
footer{margin-top:2rem;font-size:.8rem;color:var(--muted)}";

/// The Content-Security-Policy of every page: its own style, nothing else.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    use aws_smithy_checksums::ChecksumAlgorithm;
    let mut sha256 = ChecksumAlgorithm::Sha256.into_impl();
    sha256.update(STYLE.as_bytes());
    let hash = sha256.header_value();
    format!(
        "default-src 'none'; style-src '{}'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
        format_args!("sha256-{}", hash.to_str().unwrap_or_default())
    )
});

/// The headers of a page, besides its Content-Security-Policy.
pub const HEADERS: [(&str, &str); 4] = [
    ("content-type", "text/html; charset=utf-8"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    // The same URL answers XML to other clients.
    ("vary", "Accept"),
];

/// Does the request ask for a page (its first Accept value is `text/html`)?
pub fn wants_html(accept: Option<&str>) -> bool {
    accept
        .and_then(first_accept_value)
        .is_some_and(|v| v.eq_ignore_ascii_case("text/html"))
}

/// Characters escaped in a path segment of a link: all but unreserved ones
/// (a `/` in a key too: the key goes as one segment, `a%2Fb.txt`, as the
/// tutorial sends it, and no `.`/`..` segment is formed from a key's parts).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Characters escaped in a query value.
const QUERY_VALUE: &AsciiSet = SEGMENT;

/// Characters escaped in the mount path taken from the request: WHATWG's
/// path percent-encode set (an existing `%xx` stays as it is).
const MOUNT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\');

/// Where the API is mounted as the browser sees it (`/prod`, a custom
/// domain's base path, or empty), from the path the browser asked for
/// (`requestContext.path`) and the bucket the page is about. Always empty
/// or `/segment...`: never `//host`, which a browser would take for
/// another site.
pub fn mount_of(request_path: &str, bucket: Option<&str>) -> String {
    let mut segments: Vec<&str> = request_path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(bucket) = bucket
        && segments.last() == Some(&bucket)
    {
        segments.pop();
    }
    segments
        .iter()
        .map(|s| format!("/{}", utf8_percent_encode(s, MOUNT)))
        .collect()
}

/// The page for ListBuckets.
pub fn buckets_page(list: &BucketList, mount: &str) -> String {
    let mut page = Page::new("Buckets");
    page.crumbs(mount, None, "");
    page.out.push_str("<h1>Buckets</h1>\n");
    let count = list.buckets.len();
    let _ = writeln!(
        page.out,
        "<p class=\"summary\" id=\"summary\"><span id=\"count\">{count} {}</span> shown.</p>",
        plural(count, "bucket", "buckets")
    );
    if list.buckets.is_empty() {
        page.out
            .push_str("<p class=\"empty\">No buckets (or none this API serves).</p>\n");
    } else {
        page.out.push_str(
            "<table id=\"listing\">\n<thead><tr><th>Name</th><th>Created</th></tr></thead>\n<tbody>\n",
        );
        // S3 lists buckets by name; not every S3-compatible store does.
        let mut buckets: Vec<_> = list.buckets.iter().collect();
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        for bucket in buckets {
            let _ = writeln!(
                page.out,
                "<tr class=\"bucket\"><td class=\"name\"><a href=\"{}\">{}</a></td><td class=\"date\">{}</td></tr>",
                esc(&bucket_href(mount, &bucket.name)),
                esc(&bucket.name),
                date_cell(bucket.creation_date.as_deref()),
            );
        }
        page.out.push_str("</tbody>\n</table>\n");
    }
    page.finish()
}

/// The page for one ListObjectsV2 answer (one level when the delimiter is `/`).
pub fn objects_page(list: &ObjectList, mount: &str) -> String {
    let bucket = list.name.as_str();
    let prefix = list.prefix.as_deref().unwrap_or_default();
    let mut page = Page::new(&format!("{bucket}/{prefix}"));
    page.crumbs(mount, Some(bucket), prefix);
    let _ = writeln!(
        page.out,
        "<h1>{}<span class=\"prefix\">/{}</span></h1>",
        esc(bucket),
        esc(prefix)
    );
    let (objects, folders) = (list.contents.len(), list.common_prefixes.len());
    let _ = write!(
        page.out,
        "<p class=\"summary\" id=\"summary\">Bucket <strong>{}</strong>, prefix <code>{}</code>: \
         <span id=\"count\">{objects} {}</span> and {folders} {} shown",
        esc(bucket),
        if prefix.is_empty() {
            "(none)".to_string()
        } else {
            esc(prefix)
        },
        plural(objects, "object", "objects"),
        plural(folders, "folder", "folders"),
    );
    page.out.push_str(if list.is_truncated {
        "; more on the next page.</p>\n"
    } else {
        ".</p>\n"
    });

    let delimiter = list.delimiter.as_deref().filter(|d| *d != "/");
    if objects + folders == 0 {
        page.out
            .push_str("<p class=\"empty\">Nothing here under this prefix.</p>\n");
    } else {
        page.out.push_str(
            "<table id=\"listing\">\n<thead><tr><th>Name</th><th class=\"size\">Size</th>\
             <th>Last modified</th><th></th></tr></thead>\n<tbody>\n",
        );
        for folder in &list.common_prefixes {
            let shown = folder.strip_prefix(prefix).unwrap_or(folder);
            let _ = writeln!(
                page.out,
                "<tr class=\"folder\"><td class=\"name\"><a href=\"{}\">{}</a></td>\
                 <td class=\"size\"></td><td class=\"date\"></td><td></td></tr>",
                esc(&listing_href(mount, bucket, folder, delimiter, &[])),
                esc(shown)
            );
        }
        for object in &list.contents {
            let shown = match object.key.strip_prefix(prefix) {
                Some("") | None => object.key.as_str(),
                Some(rest) => rest,
            };
            let href = object_href(mount, bucket, &object.key);
            let file_name = object
                .key
                .rsplit('/')
                .find(|s| !s.is_empty())
                .unwrap_or("download");
            let _ = writeln!(
                page.out,
                "<tr class=\"object\"><td class=\"name\"><a href=\"{href}\">{}</a></td>\
                 <td class=\"size\" title=\"{} {}\">{}</td><td class=\"date\">{}</td>\
                 <td><a class=\"download\" href=\"{href}\" download=\"{}\">Download</a></td></tr>",
                esc(shown),
                grouped(object.size),
                if object.size == 1 { "byte" } else { "bytes" },
                human_size(object.size),
                date_cell(object.last_modified.as_deref()),
                esc(file_name),
                href = esc(&href),
            );
        }
        page.out.push_str("</tbody>\n</table>\n");
    }

    let mut pages = Vec::new();
    if list.continuation_token.is_some() {
        pages.push(format!(
            "<a id=\"first-page\" href=\"{}\">First page</a>",
            esc(&listing_href(
                mount,
                bucket,
                prefix,
                delimiter,
                &max_keys(list)
            ))
        ));
    }
    if let Some(token) = list
        .next_continuation_token
        .as_deref()
        .filter(|_| list.is_truncated)
    {
        let mut extra = max_keys(list);
        extra.push(("continuation-token", token.to_string()));
        pages.push(format!(
            "<a id=\"next-page\" rel=\"next\" href=\"{}\">Next page \u{2192}</a>",
            esc(&listing_href(mount, bucket, prefix, delimiter, &extra))
        ));
    }
    if !pages.is_empty() {
        let _ = writeln!(page.out, "<nav class=\"pages\">{}</nav>", pages.join(" "));
    }
    page.finish()
}

/// `max-keys` carried to the other pages when the client chose one.
fn max_keys(list: &ObjectList) -> Vec<(&'static str, String)> {
    if list.max_keys > 0 && list.max_keys != 1000 {
        vec![("max-keys", list.max_keys.to_string())]
    } else {
        Vec::new()
    }
}

struct Page {
    out: String,
}

impl Page {
    fn new(title: &str) -> Self {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{} \u{b7} s3-proxy</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
            esc(title)
        );
        Self { out }
    }

    /// `All buckets / bucket / a / b /`, each part a link up.
    fn crumbs(&mut self, mount: &str, bucket: Option<&str>, prefix: &str) {
        self.out
            .push_str("<nav aria-label=\"Breadcrumbs\"><ol class=\"crumbs\" id=\"crumbs\">");
        let _ = write!(
            self.out,
            "<li><a href=\"{}/\">All buckets</a></li>",
            esc(mount)
        );
        if let Some(bucket) = bucket {
            let _ = write!(
                self.out,
                "<li><a href=\"{}\">{}</a></li>",
                esc(&bucket_href(mount, bucket)),
                esc(bucket)
            );
            let mut upto = 0;
            for part in prefix.split_inclusive('/') {
                upto += part.len();
                match part.strip_suffix('/') {
                    Some(name) => {
                        let _ = write!(
                            self.out,
                            "<li><a href=\"{}\">{}</a></li>",
                            esc(&listing_href(mount, bucket, &prefix[..upto], None, &[])),
                            esc(name)
                        );
                    }
                    // A prefix that ends inside a name: shown, not a folder.
                    None => {
                        let _ = write!(self.out, "<li>{}\u{2026}</li>", esc(part));
                    }
                }
            }
        }
        self.out.push_str("</ol></nav>\n");
    }

    fn finish(mut self) -> String {
        self.out.push_str(
            "</main>\n<footer>s3-proxy \u{b7} the same URLs answer S3's XML to other clients \
             (<code>Accept: application/json</code> for JSON).</footer>\n</body>\n</html>\n",
        );
        self.out
    }
}

fn bucket_href(mount: &str, bucket: &str) -> String {
    format!("{mount}/{}", utf8_percent_encode(bucket, SEGMENT))
}

fn object_href(mount: &str, bucket: &str, key: &str) -> String {
    format!(
        "{}/{}",
        bucket_href(mount, bucket),
        utf8_percent_encode(key, SEGMENT)
    )
}

/// A listing of `prefix` (the bucket's top when empty).
fn listing_href(
    mount: &str,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    extra: &[(&str, String)],
) -> String {
    let mut query: Vec<(&str, &str)> = Vec::new();
    if !prefix.is_empty() {
        query.push(("prefix", prefix));
    }
    if let Some(delimiter) = delimiter {
        query.push(("delimiter", delimiter));
    }
    query.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    let mut href = bucket_href(mount, bucket);
    for (i, (name, value)) in query.iter().enumerate() {
        href.push(if i == 0 { '?' } else { '&' });
        let _ = write!(href, "{name}={}", utf8_percent_encode(value, QUERY_VALUE));
    }
    href
}

/// Text for HTML: element content and double- or single-quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1536` -> `1.5 KiB`; under 1 KiB, the bytes.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1234567` -> `1,234,567`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An ISO 8601 time as `<time>`: `2026-11-25 06:00:00 UTC`.
fn date_cell(iso: Option<&str>) -> String {
    let Some(iso) = iso else {
        return String::new();
    };
    let shown = match (iso.get(..10), iso.get(11..19)) {
        (Some(day), Some(time)) if iso.ends_with('Z') => format!("{day} {time} UTC"),
        _ => iso.to_string(),
    };
    format!("<time datetime=\"{}\">{}</time>", esc(iso), esc(&shown))
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests;
