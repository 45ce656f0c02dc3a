//! API Gateway's `binaryMediaTypes`, matched the way API Gateway matches them.
//!
//! API Gateway (REST) base64-encodes a request body whose Content-Type matches
//! the list, and decodes a response marked `isBase64Encoded` only when the
//! request's *first* Accept value matches it. The function reads the same list
//! so that it can predict what API Gateway will do with each response: it must
//! own that decision, because lambda_http's own guess (from the Content-Type)
//! corrupts binary bodies served under text types.

use std::fmt;

/// A parsed `binaryMediaTypes` list. Entries may use `*` for the type or the
/// subtype (`*/*`, `image/*`); SAM's escaped form (`image~1png`) is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryMediaTypes {
    patterns: Vec<(String, String)>,
}

impl BinaryMediaTypes {
    /// Parses a comma-separated list. Empty entries are ignored; an entry that
    /// is not `type/subtype` is an error.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let entry = entry.replace("~1", "/");
            let (ty, sub) = essence(&entry)
                .split_once('/')
                .ok_or_else(|| format!("{entry:?} is not a media type (type/subtype)"))?;
            if ty.is_empty() || sub.is_empty() {
                return Err(format!("{entry:?} is not a media type (type/subtype)"));
            }
            patterns.push((ty.to_ascii_lowercase(), sub.to_ascii_lowercase()));
        }
        Ok(Self { patterns })
    }

    /// Does this media type (parameters ignored) match an entry of the list?
    pub fn matches(&self, media_type: &str) -> bool {
        let Some((ty, sub)) = essence(media_type).split_once('/') else {
            return false;
        };
        // Patterns are lowercase (parse); compared without copying the type.
        self.patterns.iter().any(|(pt, ps)| {
            (pt == "*" || pt.eq_ignore_ascii_case(ty))
                && (ps == "*" || ps.eq_ignore_ascii_case(sub))
        })
    }

    /// Would API Gateway decode an `isBase64Encoded` response for a request
    /// with this Accept header? It looks at the first value only. A request
    /// without Accept is treated as `*/*`'s own entry would be: matched only by
    /// a `*/*` entry.
    pub fn decodes_for_accept(&self, accept: Option<&str>) -> bool {
        match accept.and_then(first_accept_value) {
            Some(first) => self.matches(first),
            None => self.patterns.iter().any(|(t, s)| t == "*" && s == "*"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

impl fmt::Display for BinaryMediaTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self
            .patterns
            .iter()
            .map(|(t, s)| format!("{t}/{s}"))
            .collect();
        f.write_str(&list.join(","))
    }
}

/// `text/plain; charset=utf-8` -> `text/plain`
fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or_default().trim()
}

/// The first value of an Accept header, `None` when there is none.
pub fn first_accept_value(accept: &str) -> Option<&str> {
    let first = essence(accept.split(',').next()?);
    (!first.is_empty()).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_api_gateway_wildcards() {
        let cases = [
            ("*/*", "image/png", true),
            ("*/*", "text/plain; charset=latin1", true),
            ("image/*", "image/png", true),
            ("image/*", "IMAGE/JPEG", true),
            ("image/*", "text/plain", false),
            ("image/png", "image/png", true),
            ("image~1png", "image/png", true),
            ("image/png,application/pdf", "application/pdf", true),
            ("image/png", "image/jpeg", false),
            ("image/png", "*/*", false),
            ("image/png", "not-a-type", false),
            ("", "image/png", false),
        ];
        for (list, media_type, expected) in cases {
            let types = BinaryMediaTypes::parse(list).unwrap();
            assert_eq!(
                types.matches(media_type),
                expected,
                "{list} vs {media_type}"
            );
        }
    }

    #[test]
    fn only_the_first_accept_value_counts() {
        let types = BinaryMediaTypes::parse("image/png").unwrap();
        let cases = [
            (Some("image/png"), true),
            (Some("image/png;q=0.9, text/html"), true),
            (Some("text/html, image/png"), false),
            (Some("*/*"), false),
            (None, false),
            (Some(""), false),
        ];
        for (accept, expected) in cases {
            assert_eq!(types.decodes_for_accept(accept), expected, "{accept:?}");
        }
        let all = BinaryMediaTypes::parse("*/*").unwrap();
        assert!(all.decodes_for_accept(None));
        assert!(all.decodes_for_accept(Some("text/html")));
    }

    #[test]
    fn bad_lists_are_refused() {
        for list in ["image", "/png", "image/", "a/b,nope"] {
            assert!(BinaryMediaTypes::parse(list).is_err(), "{list}");
        }
    }
}
