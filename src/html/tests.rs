//! The HTML index: what a page shows, escaped, and how it links.

use super::*;
use crate::outcome::{BucketEntry, ObjectEntry};

fn entry(key: &str, size: i64) -> ObjectEntry {
    ObjectEntry {
        key: key.into(),
        last_modified: Some("2026-11-25T06:00:00Z".into()),
        etag: Some("\"e\"".into()),
        size,
        storage_class: None,
    }
}

fn list(prefix: &str, keys: &[&str], folders: &[&str]) -> ObjectList {
    ObjectList {
        name: "b-1".into(),
        prefix: Some(prefix.into()),
        delimiter: Some("/".into()),
        max_keys: 1000,
        key_count: (keys.len() + folders.len()) as i32,
        contents: keys.iter().map(|k| entry(k, 1536)).collect(),
        common_prefixes: folders.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn only_a_first_accept_of_text_html_asks_for_a_page() {
    let cases = [
        (Some("text/html,application/xhtml+xml,*/*;q=0.8"), true),
        (Some("TEXT/HTML"), true),
        (Some("text/html;q=0.9"), true),
        (Some("application/xml, text/html"), false),
        (Some("*/*"), false),
        (Some("application/json"), false),
        (Some(""), false),
        (None, false),
    ];
    for (accept, expected) in cases {
        assert_eq!(wants_html(accept), expected, "{accept:?}");
    }
}

#[test]
fn the_mount_is_what_the_browser_asked_for_above_the_api() {
    let cases = [
        ("/prod/", None, "/prod"),
        ("/prod", None, "/prod"),
        ("/", None, ""),
        ("", None, ""),
        ("/prod/b-1", Some("b-1"), "/prod"),
        ("/prod/b-1/", Some("b-1"), "/prod"),
        ("/base/path/b-1", Some("b-1"), "/base/path"),
        ("/b-1", Some("b-1"), ""),
        ("//evil.example/b-1", Some("b-1"), "/evil.example"),
        ("/a\"b/b-1", Some("b-1"), "/a%22b"),
        ("/x%20y/b-1", Some("b-1"), "/x%20y"),
    ];
    for (path, bucket, expected) in cases {
        assert_eq!(mount_of(path, bucket), expected, "{path}");
    }
}

#[test]
fn sizes_are_human_with_exact_bytes_on_hover() {
    let cases = [
        (0, "0 B", "0"),
        (1023, "1023 B", "1,023"),
        (1024, "1.0 KiB", "1,024"),
        (1536, "1.5 KiB", "1,536"),
        (5 * 1024 * 1024 + 1, "5.0 MiB", "5,242,881"),
        (3 * (1 << 40), "3.0 TiB", "3,298,534,883,328"),
    ];
    for (bytes, human, exact) in cases {
        assert_eq!(human_size(bytes), human);
        assert_eq!(grouped(bytes), exact);
    }
    let page = objects_page(&list("", &["a.bin"], &[]), "");
    assert!(
        page.contains("<td class=\"size\" title=\"1,536 bytes\">1.5 KiB</td>"),
        "{page}"
    );
}

#[test]
fn a_level_lists_folders_first_then_objects_with_links() {
    let page = objects_page(
        &list(
            "photos/",
            &["photos/cat 1.png", "photos/"],
            &["photos/2026/"],
        ),
        "/prod",
    );
    let folder = page.find("class=\"folder\"").unwrap();
    let object = page.find("class=\"object\"").unwrap();
    assert!(folder < object, "folders first");
    for part in [
        "<title>b-1/photos/ \u{b7} s3-proxy</title>",
        "<li><a href=\"/prod/\">All buckets</a></li>",
        "<li><a href=\"/prod/b-1\">b-1</a></li>",
        "<li><a href=\"/prod/b-1?prefix=photos%2F\">photos</a></li>",
        "<a href=\"/prod/b-1?prefix=photos%2F2026%2F\">2026/</a>",
        "<a href=\"/prod/b-1/photos%2Fcat%201.png\">cat 1.png</a>",
        "download=\"cat 1.png\"",
        // The folder's own marker object is named in full.
        "<a href=\"/prod/b-1/photos%2F\">photos/</a>",
        "<time datetime=\"2026-11-25T06:00:00Z\">2026-11-25 06:00:00 UTC</time>",
        "Bucket <strong>b-1</strong>, prefix <code>photos/</code>: <span id=\"count\">2 objects</span> and 1 folder shown.",
    ] {
        assert!(page.contains(part), "{part}\n{page}");
    }
    assert!(!page.contains("next-page"));
}

#[test]
fn pages_link_to_the_next_one_and_back_to_the_first() {
    let mut l = list("a/", &["a/1"], &[]);
    l.max_keys = 1;
    l.is_truncated = true;
    l.continuation_token = Some("t0".into());
    l.next_continuation_token = Some("t/1+=".into());
    let page = objects_page(&l, "/prod");
    assert!(page.contains("more on the next page"), "{page}");
    assert!(
        page.contains(
            "<a id=\"next-page\" rel=\"next\" href=\"/prod/b-1?prefix=a%2F&amp;max-keys=1&amp;continuation-token=t%2F1%2B%3D\">"
        ),
        "{page}"
    );
    assert!(
        page.contains("<a id=\"first-page\" href=\"/prod/b-1?prefix=a%2F&amp;max-keys=1\">"),
        "{page}"
    );
}

#[test]
fn names_are_inert_in_text_attributes_and_links() {
    let evil = [
        "\"><img src=x onerror=alert(1)>",
        "</title><script>alert(1)</script>",
        "'onmouseover='alert(1)",
        "javascript:alert(1)",
        "a&b<c>",
    ];
    let keys: Vec<String> = evil.iter().map(|e| format!("p/{e}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let folders = ["p/</title><script>/"];
    let mut l = list("p/", &keys, &folders);
    l.name = "b-1".into();
    let page = objects_page(&l, "/prod");
    for bad in ["<img", "<script", "'onmouseover", "href=\"javascript"] {
        assert!(!page.contains(bad), "{bad} in\n{page}");
    }
    assert!(page.contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // Only the page's own elements open.
    let tags: std::collections::BTreeSet<&str> = page
        .split('<')
        .skip(1)
        .filter_map(|t| t.split([' ', '>', '\n']).next())
        .filter(|t| !t.starts_with('/') && !t.starts_with('!'))
        .collect();
    let allowed = [
        "a", "body", "code", "footer", "h1", "head", "html", "li", "main", "meta", "nav", "ol",
        "p", "span", "strong", "style", "table", "tbody", "td", "th", "thead", "time", "title",
        "tr",
    ];
    for tag in &tags {
        assert!(
            allowed.contains(tag),
            "unexpected element <{tag}> in\n{page}"
        );
    }

    let buckets = BucketList {
        buckets: vec![BucketEntry {
            name: "<b>".into(),
            creation_date: None,
        }],
        ..Default::default()
    };
    let page = buckets_page(&buckets, "/x\"y");
    assert!(
        page.contains("<a href=\"/x&quot;y/%3Cb%3E\">&lt;b&gt;</a>"),
        "{page}"
    );
}

#[test]
fn the_policy_allows_the_style_by_its_hash_and_nothing_else() {
    let csp = CONTENT_SECURITY_POLICY.as_str();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    // SHA-256 is 32 bytes: 44 base64 characters.
    let hash = csp
        .split("'sha256-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap();
    assert_eq!(hash.len(), 44, "{hash}");
    assert!(!csp.contains("script-src") && !csp.contains("unsafe"));
    // The style in the page is exactly the hashed text.
    let page = buckets_page(&BucketList::default(), "");
    assert!(page.contains(&format!("<style>{STYLE}</style>")));
    assert!(page.contains("No buckets"));
}
