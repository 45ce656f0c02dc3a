//! What a request's headers and query say about an object read (GET, HEAD)
//! or write (PUT): conditions, ranges, overrides, metadata, checksums,
//! encryption. Pure.

use super::{header, non_empty};
use crate::error::ApiError;
use crate::operation::{
    ByteRange, CHECKSUM_PREFIX, Checksum, ChecksumAlgorithm, CustomerKey, Encryption, ObjectRead,
    PutObject, ResponseOverrides, metadata_too_large,
};
use bytes::Bytes;
use http::HeaderMap;

pub(super) fn object_read(
    bucket: String,
    key: String,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<ObjectRead, ApiError> {
    use http::header::{self as h, HeaderName};
    const CHECKSUM_MODE: HeaderName = HeaderName::from_static("x-amz-checksum-mode");
    let checksum_mode = match header(headers, CHECKSUM_MODE) {
        None => false,
        Some(mode) if mode.eq_ignore_ascii_case("ENABLED") => true,
        Some(mode) => {
            return Err(ApiError::InvalidArgument(format!(
                "x-amz-checksum-mode must be ENABLED, not {mode:?}"
            )));
        }
    };
    Ok(ObjectRead {
        bucket,
        key,
        range: header(headers, h::RANGE).and_then(|r| ByteRange::parse(&r)),
        version_id: non_empty(query, "versionId")?,
        if_match: header(headers, h::IF_MATCH),
        if_none_match: header(headers, h::IF_NONE_MATCH),
        if_modified_since: header(headers, h::IF_MODIFIED_SINCE),
        if_unmodified_since: header(headers, h::IF_UNMODIFIED_SINCE),
        overrides: ResponseOverrides::from_query(query)?,
        customer_key: customer_key(headers)?,
        checksum_mode,
        inline_as_text: false,
    })
}

/// S3 keeps at most 2 KB of user metadata, counted as the bytes of every
/// name (after `x-amz-meta-`) and value it is sent (a non-ASCII value as
/// its RFC 2047 form): more is its 400 MetadataTooLarge.
fn metadata_size(metadata: &[(String, String)]) -> Result<(), ApiError> {
    let pairs = metadata.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    if metadata_too_large(pairs) {
        return Err(ApiError::S3 {
            status: 400,
            code: "MetadataTooLarge".into(),
            message: "Your metadata headers exceed the maximum allowed metadata size".into(),
            request_id: None,
        });
    }
    Ok(())
}

/// SSE-C's three headers: all of them, or none.
fn customer_key(headers: &HeaderMap) -> Result<Option<CustomerKey>, ApiError> {
    use http::HeaderName;
    const PREFIX: &str = "x-amz-server-side-encryption-customer-";
    // Names made at compile time: every GET and HEAD looks for them.
    const ALGORITHM: HeaderName =
        HeaderName::from_static("x-amz-server-side-encryption-customer-algorithm");
    const KEY: HeaderName = HeaderName::from_static("x-amz-server-side-encryption-customer-key");
    const KEY_MD5: HeaderName =
        HeaderName::from_static("x-amz-server-side-encryption-customer-key-md5");
    match (
        header(headers, ALGORITHM),
        header(headers, KEY),
        header(headers, KEY_MD5),
    ) {
        (None, None, None) => Ok(None),
        (Some(algorithm), Some(_), Some(_)) if algorithm != "AES256" => {
            Err(ApiError::InvalidArgument(format!(
                "{PREFIX}algorithm must be AES256, not {algorithm:?}"
            )))
        }
        (Some(algorithm), Some(key), Some(key_md5)) => Ok(Some(CustomerKey {
            algorithm,
            key,
            key_md5,
        })),
        _ => Err(ApiError::InvalidArgument(format!(
            "SSE-C needs all three headers: {PREFIX}algorithm, {PREFIX}key and {PREFIX}key-MD5"
        ))),
    }
}

/// SSE-S3 / SSE-KMS: `x-amz-server-side-encryption` and its companions,
/// which mean nothing without it.
fn encryption(headers: &HeaderMap) -> Result<Option<Encryption>, ApiError> {
    const SSE: &str = "x-amz-server-side-encryption";
    let kms_key_id = header(headers, "x-amz-server-side-encryption-aws-kms-key-id");
    let context = header(headers, "x-amz-server-side-encryption-context");
    let bucket_key_enabled =
        match header(headers, "x-amz-server-side-encryption-bucket-key-enabled") {
            None => None,
            Some(v) => Some(v.parse::<bool>().map_err(|_| {
                ApiError::InvalidArgument(format!(
                    "{SSE}-bucket-key-enabled must be true or false, not {v:?}"
                ))
            })?),
        };
    let Some(algorithm) = header(headers, SSE) else {
        if kms_key_id.is_some() || context.is_some() || bucket_key_enabled.is_some() {
            return Err(ApiError::InvalidArgument(format!(
                "the KMS headers need {SSE}: aws:kms or aws:kms:dsse"
            )));
        }
        return Ok(None);
    };
    if !["AES256", "aws:kms", "aws:kms:dsse"].contains(&algorithm.as_str()) {
        return Err(ApiError::InvalidArgument(format!(
            "{SSE} must be AES256, aws:kms or aws:kms:dsse, not {algorithm:?}"
        )));
    }
    if algorithm == "AES256" && (kms_key_id.is_some() || context.is_some()) {
        return Err(ApiError::InvalidArgument(format!(
            "a KMS key id or context needs {SSE}: aws:kms, not AES256"
        )));
    }
    Ok(Some(Encryption {
        algorithm,
        kms_key_id,
        context,
        bucket_key_enabled,
    }))
}

const META_PREFIX: &str = "x-amz-meta-";

pub(super) fn put_object(
    bucket: String,
    key: String,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<PutObject, ApiError> {
    // The object's own type: what the client said, else what the key's
    // extension says, else S3's default.
    let content_type = header(headers, "content-type")
        .filter(|t| !t.trim().is_empty())
        .or_else(|| mime_guess::from_path(&key).first_raw().map(str::to_string))
        .unwrap_or_else(|| mime::APPLICATION_OCTET_STREAM.to_string());
    let mut metadata = Vec::new();
    let mut checksums = Vec::new();
    for (name, value) in headers {
        let name = name.as_str();
        if let Some(meta) = name.strip_prefix(META_PREFIX) {
            metadata.push((meta.to_string(), metadata_value(name, value.as_bytes())?));
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        // The checksums the proxy verifies; any other `x-amz-checksum-*`
        // (S3's newer SHA512, MD5 and XXHASH ones, CreateMultipartUpload's
        // `-algorithm` and `-type`) is refused by policy, 501, naming it.
        let algorithm = name.strip_prefix(CHECKSUM_PREFIX);
        if let Some(algorithm) = algorithm.and_then(ChecksumAlgorithm::from_name) {
            checksums.push(Checksum::parse(algorithm, value)?);
        }
    }
    // The proxy never sends S3 an algorithm without its checksum (the body
    // is not aws-chunked, so no trailer can carry it).
    let sent: Vec<&str> = checksums.iter().map(|c| c.algorithm.key()).collect();
    let named = header(headers, "x-amz-sdk-checksum-algorithm");
    crate::operation::check_checksum_headers(&sent, named.as_deref(), None)
        .map_err(|message| ApiError::InvalidRequest(message.into()))?;
    metadata_size(&metadata)?;
    Ok(PutObject {
        content_type,
        metadata,
        checksums,
        cache_control: header(headers, "cache-control"),
        content_disposition: header(headers, "content-disposition"),
        content_encoding: header(headers, "content-encoding"),
        content_language: header(headers, "content-language"),
        expires: header(headers, "expires"),
        acl: canned_acl(headers, OBJECT_ACLS)?,
        storage_class: storage_class(headers)?,
        content_md5: header(headers, "content-md5"),
        if_match: header(headers, "if-match"),
        if_none_match: header(headers, "if-none-match"),
        tagging: header(headers, "x-amz-tagging"),
        encryption: encryption(headers)?,
        customer_key: customer_key(headers)?,
        bucket,
        key,
        body,
    })
}

/// `x-amz-storage-class`, passed on as named: S3 knows its classes (and adds
/// new ones), so the proxy refuses only a value that names none, which the
/// SDK would otherwise leave out of the request.
fn storage_class(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match header(headers, "x-amz-storage-class") {
        Some(class) if class.trim().is_empty() => Err(ApiError::InvalidStorageClass(
            "x-amz-storage-class is empty".into(),
        )),
        class => Ok(class),
    }
}

/// The canned ACLs S3 takes on objects.
pub(super) const OBJECT_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// The canned ACLs S3 takes on buckets.
pub(super) const BUCKET_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "log-delivery-write",
];

/// `x-amz-acl`, one of S3's canned ACLs (`names`) or refused.
pub(super) fn canned_acl(headers: &HeaderMap, names: &[&str]) -> Result<Option<String>, ApiError> {
    match header(headers, "x-amz-acl") {
        Some(acl) if !names.contains(&acl.as_str()) => Err(ApiError::InvalidArgument(format!(
            "x-amz-acl {acl:?} is not one of S3's canned ACLs ({})",
            names.join(", ")
        ))),
        acl => Ok(acl),
    }
}

/// A metadata value as S3 stores it. HTTP headers carry ASCII; a client
/// that sends UTF-8 gets it stored the way S3 stores and answers non-ASCII
/// metadata, as an RFC 2047 encoded word (`=?UTF-8?B?...?=`). Bytes that
/// are not UTF-8 cannot be stored faithfully: a clear 400.
fn metadata_value(name: &str, value: &[u8]) -> Result<String, ApiError> {
    let text = std::str::from_utf8(value)
        .map_err(|_| ApiError::InvalidArgument(format!("{name}: the value is not UTF-8 text")))?;
    if text.is_ascii() {
        return Ok(text.to_string());
    }
    Ok(format!(
        "=?UTF-8?B?{}?=",
        base64_simd::STANDARD.encode_to_string(text.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_takes_type_metadata_and_checksums_from_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-meta-owner", "ana".parse().unwrap());
        headers.insert("x-amz-checksum-crc32", "AAAAAA==".parse().unwrap());
        headers.insert("x-amz-sdk-checksum-algorithm", "CRC32".parse().unwrap());
        headers.insert("cache-control", "max-age=60".parse().unwrap());
        let put = put_object(
            "b-1".into(),
            "photo.png".into(),
            &headers,
            Bytes::from_static(b"x"),
        )
        .unwrap();
        assert_eq!(put.content_type, "image/png");
        assert_eq!(put.metadata, vec![("owner".to_string(), "ana".to_string())]);
        assert_eq!(
            put.checksums,
            vec![Checksum {
                algorithm: ChecksumAlgorithm::Crc32,
                value: "AAAAAA==".into()
            }]
        );
        assert_eq!(put.cache_control.as_deref(), Some("max-age=60"));

        let cases = [
            (
                Some("text/plain; charset=latin1"),
                "a.png",
                "text/plain; charset=latin1",
            ),
            (None, "a.json", "application/json"),
            (None, "noextension", "application/octet-stream"),
            (Some(""), "x.bin", "application/octet-stream"),
        ];
        for (given, key, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(t) = given {
                headers.insert("content-type", t.parse().unwrap());
            }
            let put = put_object("b-1".into(), key.into(), &headers, Bytes::new()).unwrap();
            assert_eq!(put.content_type, expected, "{given:?} {key}");
        }
    }

    #[test]
    fn user_metadata_over_2_kb_is_refused_as_s3_refuses_it() {
        let put = |pairs: &[(&str, String)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                let name = http::HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes());
                headers.append(name.unwrap(), value.parse().unwrap());
            }
            put_object("b-1".into(), "k".into(), &headers, Bytes::new())
                .err()
                .map(|e| e.code().to_string())
        };
        let too_large = Some("MetadataTooLarge".to_string());
        // Names and values together, in bytes: 2 + 2046 fits, 2 + 2047 not.
        assert_eq!(put(&[("ab", "v".repeat(2046))]), None);
        assert_eq!(put(&[("ab", "v".repeat(2047))]), too_large);
        assert_eq!(
            put(&[("a", "v".repeat(1000)), ("b", "v".repeat(1047))]),
            too_large
        );
        // A non-ASCII value counts as S3 receives it, RFC 2047 encoded:
        // 1600 bytes of UTF-8 are 2146 bytes sent.
        assert_eq!(put(&[("a", "é".repeat(800))]), too_large);
    }

    #[test]
    fn checksum_headers_are_refused_as_s3_refuses_them() {
        let put = |pairs: &[(&'static str, &str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(*name, value.parse().unwrap());
            }
            put_object(
                "b-1".into(),
                "k".into(),
                &headers,
                Bytes::from_static(b"hello"),
            )
            .err()
            .map(|e| (e.code().to_string(), e.to_string()))
        };
        let refused = |message: &str| Some(("InvalidRequest".to_string(), message.to_string()));
        let crc32 = ("x-amz-checksum-crc32", "NhCmhg==");
        let sdk = |name| ("x-amz-sdk-checksum-algorithm", name);
        assert_eq!(put(&[crc32]), None);
        assert_eq!(put(&[crc32, sdk("CRC32")]), None);
        assert_eq!(put(&[crc32, sdk("crc32")]), None, "the name in any case");
        let other = refused("Value for x-amz-sdk-checksum-algorithm header is invalid.");
        assert_eq!(put(&[crc32, sdk("SHA256")]), other);
        assert_eq!(put(&[crc32, sdk("MD5")]), other);
        assert_eq!(
            put(&[sdk("CRC32")]),
            refused(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding \
                 x-amz-checksum-* or x-amz-trailer headers were found."
            )
        );
        assert_eq!(
            put(&[
                crc32,
                ("x-amz-checksum-sha1", "qvTGHdzF6KLavt4PO0gs2a6pQ00=")
            ]),
            refused(
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
            )
        );
        for value in ["abc", "NhCmhg", "NhCmhh==", "NhCmhgAA", "AAAAAAAA", ""] {
            assert_eq!(
                put(&[("x-amz-checksum-crc32", value)]),
                refused("Value for x-amz-checksum-crc32 header is invalid."),
                "{value:?}"
            );
        }
        let sha256 = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ";
        assert_eq!(
            put(&[("x-amz-checksum-sha256", sha256)]),
            refused("Value for x-amz-checksum-sha256 header is invalid."),
            "unpadded"
        );
    }

    #[test]
    fn a_range_is_read_once_and_an_invalid_one_ignored() {
        let read = |range: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("range", range.parse().unwrap());
            object_read("b-1".into(), "k".into(), &[], &headers)
                .unwrap()
                .range
        };
        assert_eq!(
            read("l)Wi"),
            None,
            "an invalid Range is ignored, as S3 does"
        );
        assert_eq!(
            read("bytes=0-1,3-4"),
            None,
            "several ranges are ignored, as S3 does"
        );
        let spaced = read("bytes= 2 - 5").expect("white space around the numbers is taken");
        assert_eq!(
            spaced.to_string(),
            "bytes=2-5",
            "and S3 is sent the canonical form"
        );
    }

    #[test]
    fn encryption_headers_are_read_whole_or_refused() {
        let put = |pairs: &[(&str, &str)]| {
            let mut headers = HeaderMap::new();
            for (n, v) in pairs {
                headers.insert(
                    http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            put_object("b-1".into(), "k".into(), &headers, Bytes::new())
        };
        let sse = "x-amz-server-side-encryption";
        let kms = put(&[
            (sse, "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "alias/k"),
            ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
        ])
        .unwrap();
        let e = kms.encryption.unwrap();
        assert_eq!(
            (e.algorithm.as_str(), e.kms_key_id.as_deref()),
            ("aws:kms", Some("alias/k"))
        );
        assert_eq!(e.bucket_key_enabled, Some(true));
        assert!(put(&[(sse, "AES256")]).unwrap().encryption.is_some());
        let ssec = put(&[
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", "a2V5"),
            ("x-amz-server-side-encryption-customer-key-md5", "bWQ1"),
        ])
        .unwrap();
        assert_eq!(ssec.customer_key.unwrap().key, "a2V5");
        let refused: [&[(&str, &str)]; 5] = [
            &[(sse, "rot13")],
            &[
                (sse, "AES256"),
                ("x-amz-server-side-encryption-aws-kms-key-id", "k"),
            ],
            &[("x-amz-server-side-encryption-aws-kms-key-id", "k")],
            &[("x-amz-server-side-encryption-customer-key", "a2V5")],
            &[
                (sse, "aws:kms"),
                ("x-amz-server-side-encryption-bucket-key-enabled", "yes"),
            ],
        ];
        for headers in refused {
            assert_eq!(
                put(headers).unwrap_err().code(),
                "InvalidArgument",
                "{headers:?}"
            );
        }
    }

    #[test]
    fn metadata_keeps_non_ascii_text_as_s3_does() {
        assert_eq!(metadata_value("x-amz-meta-a", b"plain").unwrap(), "plain");
        assert_eq!(
            metadata_value("x-amz-meta-name", "café".as_bytes()).unwrap(),
            "=?UTF-8?B?Y2Fmw6k=?="
        );
        assert_eq!(
            metadata_value("x-amz-meta-name", b"caf\xe9")
                .unwrap_err()
                .code(),
            "InvalidArgument"
        );
    }
}
