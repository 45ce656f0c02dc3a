//! The request bodies the API reads: S3's CreateBucketConfiguration and
//! CompleteMultipartUpload documents. Unknown elements are refused, never
//! ignored.

use crate::error::ApiError;
use crate::operation::CompletedPart;

/// The optional CreateBucket body:
/// `<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`.
pub fn location_constraint(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct CreateBucketConfiguration {
        #[serde(rename = "@xmlns", default)]
        _xmlns: Option<String>,
        location_constraint: Option<String>,
        // Directory buckets' and tagged creation's: not implemented here.
        location: Option<serde::de::IgnoredAny>,
        bucket: Option<serde::de::IgnoredAny>,
        tags: Option<serde::de::IgnoredAny>,
    }
    let parsed: CreateBucketConfiguration = from_xml(body)?;
    for (name, given) in [
        ("Location", parsed.location.is_some()),
        ("Bucket", parsed.bucket.is_some()),
        ("Tags", parsed.tags.is_some()),
    ] {
        if given {
            return Err(ApiError::NotImplemented(format!(
                "CreateBucketConfiguration/{name}: this API creates general purpose buckets, untagged"
            )));
        }
    }
    // XML's white space around the name (a pretty-printed document), not
    // Unicode's: a no-break space is not a region, and not us-east-1.
    let location = parsed
        .location_constraint
        .map(|l| l.trim_matches([' ', '\t', '\r', '\n']).to_string())
        .filter(|l| !l.is_empty());
    match location {
        Some(l) if !is_region_name(&l) => Err(ApiError::S3 {
            status: 400,
            code: "InvalidLocationConstraint".into(),
            message: format!("The specified location-constraint is not valid: {l:?}"),
            request_id: None,
        }),
        other => Ok(other),
    }
}

/// `us-east-1`, `eu-west-3`, `us-gov-west-1`, `cn-north-1` (and S3's legacy `EU`).
fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    name == "EU"
        || (parts.len() >= 3
            && parts[0].len() == 2
            && parts[..parts.len() - 1].iter().all(|p| lower(p))
            && !parts[parts.len() - 1].is_empty()
            && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit()))
}

/// S3's `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...`.
pub fn completed_parts(body: &[u8]) -> Result<Vec<CompletedPart>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct CompleteMultipartUpload {
        #[serde(rename = "@xmlns", default)]
        _xmlns: Option<String>,
        #[serde(default)]
        part: Vec<Part>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Part {
        part_number: i32,
        #[serde(rename = "ETag")]
        etag: String,
        // Per-part checksums: S3 takes them, this API does not (yet).
        #[serde(rename = "ChecksumCRC32")]
        crc32: Option<serde::de::IgnoredAny>,
        #[serde(rename = "ChecksumCRC32C")]
        crc32c: Option<serde::de::IgnoredAny>,
        #[serde(rename = "ChecksumCRC64NVME")]
        crc64nvme: Option<serde::de::IgnoredAny>,
        #[serde(rename = "ChecksumSHA1")]
        sha1: Option<serde::de::IgnoredAny>,
        #[serde(rename = "ChecksumSHA256")]
        sha256: Option<serde::de::IgnoredAny>,
    }
    let parsed: CompleteMultipartUpload = from_xml(body)?;
    if parsed.part.is_empty() {
        return Err(ApiError::MalformedXml(
            "CompleteMultipartUpload names no Part".into(),
        ));
    }
    parsed
        .part
        .into_iter()
        .map(|p| {
            let checksums = [&p.crc32, &p.crc32c, &p.crc64nvme, &p.sha1, &p.sha256];
            if checksums.iter().any(|c| c.is_some()) {
                return Err(ApiError::NotImplemented(
                    "per-part checksums in CompleteMultipartUpload".into(),
                ));
            }
            // An ETag S3 answered is visible ASCII; anything else names no part.
            if p.etag.is_empty() || !p.etag.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ApiError::S3 {
                    status: 400,
                    code: "InvalidPart".into(),
                    message: "One or more of the specified parts could not be found.".into(),
                    request_id: None,
                });
            }
            Ok(CompletedPart {
                part_number: p.part_number,
                etag: p.etag,
            })
        })
        .collect()
}

fn from_xml<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::MalformedXml("the body is not UTF-8".into()))?;
    quick_xml::de::from_str(text).map_err(|e| ApiError::MalformedXml(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_are_read_or_refused() {
        let cases: Vec<(&str, Result<Option<&str>, &str>)> = vec![
            ("", Ok(None)),
            ("  \n", Ok(None)),
            (
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
                Ok(Some("eu-west-1")),
            ),
            ("<CreateBucketConfiguration/>", Ok(None)),
            (
                "<CreateBucketConfiguration><LocationConstraint>",
                Err("MalformedXML"),
            ),
            ("not xml", Err("MalformedXML")),
            (
                "<CreateBucketConfiguration><LocationConstraint>moon-base</LocationConstraint></CreateBucketConfiguration>",
                Err("InvalidLocationConstraint"),
            ),
            (
                "<CreateBucketConfiguration><Color>red</Color></CreateBucketConfiguration>",
                Err("MalformedXML"),
            ),
            (
                "<CreateBucketConfiguration>some text</CreateBucketConfiguration>",
                Err("MalformedXML"),
            ),
            (
                "<CreateBucketConfiguration><Tags><Tag><Key>a</Key><Value>b</Value></Tag></Tags></CreateBucketConfiguration>",
                Err("NotImplemented"),
            ),
            (
                "<CreateBucketConfiguration><LocationConstraint>us-gov-west-1</LocationConstraint></CreateBucketConfiguration>",
                Ok(Some("us-gov-west-1")),
            ),
            (
                "<CreateBucketConfiguration><LocationConstraint>EU</LocationConstraint></CreateBucketConfiguration>",
                Ok(Some("EU")),
            ),
            (
                "<CreateBucketConfiguration><LocationConstraint>\n  eu-west-1\n</LocationConstraint></CreateBucketConfiguration>",
                Ok(Some("eu-west-1")),
            ),
            // Found by Schemathesis: a no-break space is not us-east-1.
            (
                "<CreateBucketConfiguration><LocationConstraint>\u{a0}</LocationConstraint></CreateBucketConfiguration>",
                Err("InvalidLocationConstraint"),
            ),
            (
                "<CreateBucketConfiguration><LocationConstraint>\u{2003}eu-west-1</LocationConstraint></CreateBucketConfiguration>",
                Err("InvalidLocationConstraint"),
            ),
        ];
        for (body, expected) in cases {
            let got = location_constraint(body.as_bytes());
            match expected {
                Ok(loc) => assert_eq!(got.unwrap().as_deref(), loc, "{body}"),
                Err(code) => assert_eq!(got.unwrap_err().code(), code, "{body}"),
            }
        }
        let parts = completed_parts(
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>\
              </CompleteMultipartUpload>",
        )
        .unwrap();
        assert_eq!(parts[0].etag, "\"a\"");
        let refused: [(&[u8], &str); 4] = [
            (b"<x/>", "MalformedXML"),
            (
                b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag><Color/></Part></CompleteMultipartUpload>",
                "MalformedXML",
            ),
            (
                b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>",
                "NotImplemented",
            ),
            (
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\u{e9}t\u{e9}</ETag></Part></CompleteMultipartUpload>".as_bytes(),
                "InvalidPart",
            ),
        ];
        for (body, code) in refused {
            let got = completed_parts(body).unwrap_err();
            assert_eq!(got.code(), code, "{}", String::from_utf8_lossy(body));
        }
    }
}
