//! Checksums as S3 keeps them: a write's `x-amz-checksum-*` checked
//! against its body, or S3's default (CRC64NVME) computed when it names
//! none; a multipart upload's algorithm and type, its parts' checksums, and
//! the object's (COMPOSITE: the checksum of the parts' checksums, with their
//! count; FULL_OBJECT: of every byte), with CompleteMultipartUpload's checks.
//! Messages are S3's.

use super::db::Attrs;
use crate::operation::ChecksumAlgorithm as Algorithm;
use s3s::dto::Checksum;
use s3s::{S3Error, S3Result, s3_error};
use std::collections::BTreeMap;

pub const COMPOSITE: &str = "COMPOSITE";
pub const FULL_OBJECT: &str = "FULL_OBJECT";

/// The checksums a body is hashed with, and the values it must match.
#[derive(Default)]
pub struct Checksums {
    wanted: Vec<(&'static str, Option<String>)>,
}

pub const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "sha1", "sha256", "crc64nvme"];

impl Checksums {
    /// From the `x-amz-checksum-*` values, the algorithm asked for, and the
    /// trailer announced (`x-amz-trailer`).
    pub fn new(
        values: [Option<String>; 5],
        algorithm: Option<&s3s::dto::ChecksumAlgorithm>,
        headers: &http::HeaderMap,
    ) -> S3Result<Self> {
        let mut wanted = Vec::new();
        let named = algorithm.map(|a| a.as_str().to_ascii_lowercase());
        let trailer = headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        if let Some(n) = &named
            && !ALGORITHMS.contains(&n.as_str())
        {
            return Err(s3_error!(
                InvalidRequest,
                "Checksum algorithm provided is unsupported"
            ));
        }
        // S3's newer checksums (SHA512, MD5, XXHASH) are not kept here
        // (s3s 0.14 does not read them): refused, never ignored.
        if let Some(name) = headers.keys().map(http::HeaderName::as_str).find(|name| {
            name.strip_prefix("x-amz-checksum-")
                .is_some_and(|algorithm| !ALGORITHMS.contains(&algorithm))
        }) {
            return Err(s3_error!(
                NotImplemented,
                "The local store does not implement the header {name} on writes"
            ));
        }
        check_checksum_headers(&values, named.as_deref(), trailer.as_deref())?;
        for (name, value) in ALGORITHMS.into_iter().zip(values) {
            let in_trailer = trailer.as_deref() == Some(&format!("x-amz-checksum-{name}"));
            if value.is_some() || named.as_deref() == Some(name) || in_trailer {
                wanted.push((name, value));
            }
        }
        Ok(Self { wanted })
    }

    /// What S3 keeps of a write that names no checksum: its CRC64NVME,
    /// computed (S3's default since December 2024).
    pub fn or_default(mut self) -> Self {
        if self.wanted.is_empty() {
            self.wanted.push(("crc64nvme", None));
        }
        self
    }

    /// A part of an upload created with `algorithm`: its checksum is
    /// computed when not sent; a checksum of another algorithm is refused.
    pub fn require(mut self, algorithm: Algorithm) -> S3Result<Self> {
        if let Some((other, _)) = self.wanted.iter().find(|(n, _)| *n != algorithm.key()) {
            return Err(mismatch(Some(algorithm), other));
        }
        if self.wanted.is_empty() {
            self.wanted.push((algorithm.key(), None));
        }
        Ok(self)
    }

    pub fn hasher(&self) -> s3s::checksum::ChecksumHasher {
        let mut h = s3s::checksum::ChecksumHasher::default();
        for (name, _) in &self.wanted {
            match *name {
                "crc32" => h.crc32 = Some(Default::default()),
                "crc32c" => h.crc32c = Some(Default::default()),
                "sha1" => h.sha1 = Some(Default::default()),
                "sha256" => h.sha256 = Some(Default::default()),
                _ => h.crc64nvme = Some(Default::default()),
            }
        }
        h
    }

    /// Values sent as aws-chunked trailers (known once the body is read).
    pub fn take_trailers(&mut self, trailers: Option<s3s::TrailingHeaders>) {
        let Some(trailers) = trailers.and_then(|t| t.take()) else {
            return;
        };
        for (name, value) in &mut self.wanted {
            if let Some(v) = trailers
                .get(format!("x-amz-checksum-{name}").as_str())
                .and_then(|v| v.to_str().ok())
            {
                *value = Some(v.to_string());
            }
        }
    }

    /// Compares what was sent with what was received; the values to keep.
    pub fn verify(self, got: Checksum) -> S3Result<std::collections::BTreeMap<String, String>> {
        let mut kept = std::collections::BTreeMap::new();
        for (name, want) in self.wanted {
            let have = match name {
                "crc32" => got.checksum_crc32.clone(),
                "crc32c" => got.checksum_crc32c.clone(),
                "sha1" => got.checksum_sha1.clone(),
                "sha256" => got.checksum_sha256.clone(),
                _ => got.checksum_crc64nvme.clone(),
            };
            if want.is_some() && want != have {
                return Err(s3_error!(
                    BadDigest,
                    "The {} you specified did not match the calculated checksum.",
                    name.to_ascii_uppercase()
                ));
            }
            if let Some(have) = have {
                kept.insert(name.to_string(), have);
            }
        }
        Ok(kept)
    }
}

/// What S3 refuses in a write's checksum headers before it reads the body
/// (400 InvalidRequest, S3's messages): two checksums, a value that is not
/// the canonical base64 of a digest of its algorithm's size, and an
/// `x-amz-sdk-checksum-algorithm` (`named`) without its checksum (in a
/// header or the announced trailer) or naming another.
fn check_checksum_headers(
    values: &[Option<String>; 5],
    named: Option<&str>,
    trailer: Option<&str>,
) -> S3Result<()> {
    let given: Vec<(&str, &str)> = ALGORITHMS
        .into_iter()
        .zip(values)
        .filter_map(|(name, value)| Some((name, value.as_deref()?)))
        .collect();
    // The proxy's rules, with its messages, answered in S3's form: each
    // value the canonical base64 of its digest's size, then the headers.
    let invalid =
        |message: String| S3Error::with_message(s3s::S3ErrorCode::InvalidRequest, message);
    for &(name, value) in &given {
        let algorithm = Algorithm::from_name(name);
        if let Some(Err(e)) = algorithm.map(|a| crate::operation::Checksum::parse(a, value)) {
            return Err(invalid(e.to_string()));
        }
    }
    let sent: Vec<&str> = given.iter().map(|&(name, _)| name).collect();
    crate::operation::check_checksum_headers(&sent, named, trailer)
        .map_err(|message| invalid(message.into()))
}

/// A checksum of another algorithm than the one expected (`None`: an
/// upload that named none).
fn mismatch(expected: Option<Algorithm>, actual: &str) -> S3Error {
    s3_error!(
        InvalidRequest,
        "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
        expected.map_or("null", Algorithm::key),
        actual
    )
}

/// A multipart upload's checksum: the algorithm CreateMultipartUpload named
/// (or S3's default, CRC64NVME, unnamed) and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadChecksum {
    pub algorithm: Algorithm,
    pub composite: bool,
    /// Named by the client (`x-amz-checksum-algorithm`), not S3's default.
    pub named: bool,
}

/// Algorithms S3 takes that the store does not compute (refused, 501).
const NOT_KEPT: [&str; 5] = ["SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128"];

/// The algorithm an `x-amz-checksum-algorithm` names (CreateMultipartUpload,
/// CopyObject).
fn named_algorithm(name: &str) -> S3Result<Algorithm> {
    if let Some(algorithm) = Algorithm::ALL
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
    {
        return Ok(algorithm);
    }
    if NOT_KEPT.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return Err(s3_error!(
            NotImplemented,
            "The local store does not implement the checksum algorithm {}",
            name
        ));
    }
    Err(s3_error!(
        InvalidRequest,
        "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
    ))
}

/// The checksum a copy gets: of the algorithm CopyObject names, else of the
/// source's, else S3's default; always of the whole object. The source's
/// value when it is that (a composite one is not: it is computed again).
pub fn for_copy(asked: Option<&str>, source: &Attrs) -> S3Result<(Algorithm, Option<String>)> {
    let kept = source
        .checksums
        .iter()
        .find_map(|(name, value)| Some((Algorithm::from_name(name)?, value)));
    let algorithm = match asked {
        Some(name) => named_algorithm(name)?,
        None => kept.map_or(Algorithm::Crc64Nvme, |(a, _)| a),
    };
    let whole = source.checksum_type.as_deref() != Some(COMPOSITE);
    let reused = kept
        .filter(|(a, _)| whole && *a == algorithm)
        .map(|(_, value)| value.clone());
    Ok((algorithm, reused))
}

/// The type of an object's checksum (objects kept by versions of the store
/// before types: a whole object's).
pub fn type_of(attrs: &Attrs) -> s3s::dto::ChecksumType {
    s3s::dto::ChecksumType::from(
        attrs
            .checksum_type
            .clone()
            .unwrap_or_else(|| FULL_OBJECT.into()),
    )
}

/// A whole object's checksum, as kept.
pub fn keep_whole(algorithm: Algorithm, value: String, attrs: &mut Attrs) {
    attrs.checksums = BTreeMap::from([(algorithm.key().to_string(), value)]);
    attrs.checksum_type = Some(FULL_OBJECT.to_string());
    attrs.checksum_algorithm = None;
}

impl UploadChecksum {
    const DEFAULT: Self = Self {
        algorithm: Algorithm::Crc64Nvme,
        composite: false,
        named: false,
    };

    /// CreateMultipartUpload's `x-amz-checksum-algorithm` and
    /// `x-amz-checksum-type`, checked as S3 checks them.
    pub fn create(algorithm: Option<&str>, kind: Option<&str>) -> S3Result<Self> {
        let Some(name) = algorithm else {
            return match kind {
                None => Ok(Self::DEFAULT),
                Some(_) => Err(s3_error!(
                    InvalidRequest,
                    "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
                )),
            };
        };
        let algorithm = named_algorithm(name)?;
        let composite = match kind {
            None => algorithm != Algorithm::Crc64Nvme,
            Some(COMPOSITE) => true,
            Some(FULL_OBJECT) => false,
            Some(_) => {
                return Err(s3_error!(
                    InvalidRequest,
                    "Value for x-amz-checksum-type header is invalid."
                ));
            }
        };
        let possible = match algorithm {
            Algorithm::Crc64Nvme => !composite,
            Algorithm::Sha1 | Algorithm::Sha256 => composite,
            Algorithm::Crc32 | Algorithm::Crc32c => true,
        };
        if !possible {
            let kind = if composite { COMPOSITE } else { FULL_OBJECT };
            return Err(s3_error!(
                InvalidRequest,
                "The {} checksum type cannot be used with the {} checksum algorithm.",
                kind,
                algorithm.key()
            ));
        }
        Ok(Self {
            algorithm,
            composite,
            named: true,
        })
    }

    /// The upload's checksum as recorded in its attributes by [`Self::record`].
    pub fn of(attrs: &Attrs) -> Self {
        match attrs
            .checksum_algorithm
            .as_deref()
            .and_then(Algorithm::from_name)
        {
            Some(algorithm) => Self {
                algorithm,
                composite: attrs.checksum_type.as_deref() == Some(COMPOSITE),
                named: true,
            },
            None => Self::DEFAULT,
        }
    }

    pub fn record(self, attrs: &mut Attrs) {
        if self.named {
            attrs.checksum_algorithm = Some(self.algorithm.key().to_string());
            attrs.checksum_type = Some(self.kind().to_string());
        }
    }

    pub fn kind(self) -> &'static str {
        if self.composite {
            COMPOSITE
        } else {
            FULL_OBJECT
        }
    }

    /// The checksum headers of a part: its own algorithm's computed when
    /// not sent; another's refused in an upload that named one.
    pub fn for_part(self, sent: Checksums) -> S3Result<Checksums> {
        if self.named {
            sent.require(self.algorithm)
        } else {
            Ok(sent.or_default())
        }
    }

    /// One part of CompleteMultipartUpload's list, against the part stored:
    /// each checksum it names must be the part's; an upload that named an
    /// algorithm needs that one.
    pub fn check_listed_part(
        self,
        number: i32,
        listed: &[Option<String>; 5],
        stored: &BTreeMap<String, String>,
    ) -> S3Result<()> {
        for (name, value) in ALGORITHMS.into_iter().zip(listed) {
            if let Some(value) = value
                && stored.get(name) != Some(value)
            {
                return Err(invalid_part());
            }
        }
        let own = ALGORITHMS.iter().position(|n| *n == self.algorithm.key());
        if self.named && own.is_some_and(|i| listed[i].is_none()) {
            return Err(s3_error!(
                InvalidRequest,
                "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {} in the request.",
                self.algorithm.key(),
                number
            ));
        }
        Ok(())
    }

    /// CompleteMultipartUpload's own `x-amz-checksum-*` and
    /// `x-amz-checksum-type`: the value claimed for the object, if any, to
    /// compare with the one computed ([`Self::check_claim`]).
    pub fn claimed(
        self,
        values: [Option<String>; 5],
        kind: Option<&str>,
    ) -> S3Result<Option<String>> {
        if let Some(kind) = kind
            && kind != self.kind()
        {
            return Err(s3_error!(
                BadDigest,
                "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
                self.kind()
            ));
        }
        let given: Vec<(&str, String)> = ALGORITHMS
            .into_iter()
            .zip(values)
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
        if given.len() > 1 {
            return Err(S3Error::with_message(
                s3s::S3ErrorCode::InvalidRequest,
                crate::operation::MULTIPLE_CHECKSUMS,
            ));
        }
        match given.into_iter().next() {
            None => Ok(None),
            Some((name, value)) if name == self.algorithm.key() => Ok(Some(value)),
            Some((name, _)) => Err(mismatch(self.named.then_some(self.algorithm), name)),
        }
    }

    /// The object's checksum against the one claimed (a composite one with
    /// or without its `-<parts>`).
    pub fn check_claim(self, claimed: Option<&str>, computed: &str) -> S3Result<()> {
        let bare = |v: &str| v.split_once('-').map_or(v, |(b, _)| b).to_string();
        match claimed {
            Some(claimed) if bare(claimed) != bare(computed) => Err(s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                self.algorithm.name()
            )),
            _ => Ok(()),
        }
    }

    /// The object's checksum from its parts' (value, size), in order:
    /// COMPOSITE, the checksum of their decoded checksums, then
    /// `-<parts>`; FULL_OBJECT, their CRCs combined into the CRC of every
    /// byte, as S3 makes both without reading the object again.
    pub fn of_parts(self, parts: &[(String, u64)]) -> S3Result<String> {
        use base64::Engine;
        let base64 = base64::engine::general_purpose::STANDARD;
        let digests = parts
            .iter()
            .map(|(value, size)| Ok((base64.decode(value).map_err(|_| invalid_part())?, *size)))
            .collect::<S3Result<Vec<_>>>()?;
        if self.composite {
            let mut hasher = self.algorithm.hasher();
            for (digest, _) in &digests {
                hasher.update(digest);
            }
            return Ok(format!(
                "{}-{}",
                crate::operation::finish(hasher),
                parts.len()
            ));
        }
        let crc = match self.algorithm {
            Algorithm::Crc32 => crc_fast::CrcAlgorithm::Crc32IsoHdlc,
            Algorithm::Crc32c => crc_fast::CrcAlgorithm::Crc32Iscsi,
            Algorithm::Crc64Nvme => crc_fast::CrcAlgorithm::Crc64Nvme,
            // S3 has no FULL_OBJECT SHA of a multipart upload (refused at
            // its creation).
            Algorithm::Sha1 | Algorithm::Sha256 => return Err(invalid_part()),
        };
        let width = digests.first().map_or(0, |(d, _)| d.len());
        let number = |digest: &[u8]| digest.iter().fold(0u64, |n, b| n << 8 | u64::from(*b));
        let mut combined: Option<u64> = None;
        for (digest, size) in &digests {
            if digest.len() != width {
                return Err(invalid_part());
            }
            let next = number(digest);
            combined = Some(match combined {
                None => next,
                Some(sofar) => crc_fast::checksum_combine(crc, sofar, next, *size),
            });
        }
        let bytes = combined.unwrap_or_default().to_be_bytes();
        Ok(base64.encode(&bytes[8 - width..]))
    }

    /// The object's checksum as kept: by algorithm name, and its type.
    pub fn keep(self, value: String, attrs: &mut Attrs) {
        keep_whole(self.algorithm, value, attrs);
        attrs.checksum_type = Some(self.kind().to_string());
    }
}

pub fn invalid_part() -> S3Error {
    s3_error!(
        InvalidPart,
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_headers_are_refused_as_s3_refuses_them() {
        let check = |values: [Option<&str>; 5], named: Option<&str>, trailer: Option<&str>| {
            check_checksum_headers(&values.map(|v| v.map(str::to_string)), named, trailer)
                .err()
                .map(|e| e.message().unwrap_or_default().to_string())
        };
        // In ALGORITHMS' order: crc32, crc32c, sha1, sha256, crc64nvme.
        let crc32 = [Some("NhCmhg=="), None, None, None, None];
        assert_eq!(check(crc32, None, None), None);
        assert_eq!(check(crc32, Some("crc32"), None), None);
        assert_eq!(
            check([None; 5], Some("crc32"), Some("x-amz-checksum-crc32")),
            None
        );
        assert_eq!(check([None; 5], None, None), None);
        let other = Some("Value for x-amz-sdk-checksum-algorithm header is invalid.".to_string());
        assert_eq!(check(crc32, Some("sha256"), None), other);
        assert_eq!(
            check([None; 5], Some("crc32"), Some("x-amz-checksum-sha1")),
            other
        );
        assert!(
            check([None; 5], Some("crc32"), None)
                .unwrap()
                .contains("no corresponding")
        );
        let two = [
            Some("NhCmhg=="),
            None,
            Some("qvTGHdzF6KLavt4PO0gs2a6pQ00="),
            None,
            None,
        ];
        assert!(
            check(two, None, None)
                .unwrap()
                .contains("Multiple checksum Types")
        );
        for bad in ["abc", "NhCmhg", "NhCmhh==", "AAAAAAAAAAA="] {
            assert_eq!(
                check([Some(bad), None, None, None, None], None, None).as_deref(),
                Some("Value for x-amz-checksum-crc32 header is invalid."),
                "{bad}"
            );
        }
        let crc64 = [None, None, None, None, Some("AAAAAAAAAAA=")];
        assert_eq!(check(crc64, Some("crc64nvme"), None), None);
    }

    #[test]
    fn an_uploads_algorithm_and_type_are_checked_as_s3_checks_them() {
        let create = |a: Option<&str>, t: Option<&str>| {
            UploadChecksum::create(a, t).map_err(|e| e.message().unwrap_or_default().to_string())
        };
        let made = |a: &str, t: Option<&str>| {
            let u = create(Some(a), t).unwrap();
            (u.algorithm.key(), u.kind())
        };
        assert_eq!(create(None, None), Ok(UploadChecksum::DEFAULT));
        assert_eq!(made("CRC32", None), ("crc32", COMPOSITE));
        assert_eq!(made("CRC32C", Some(FULL_OBJECT)), ("crc32c", FULL_OBJECT));
        assert_eq!(made("CRC64NVME", None), ("crc64nvme", FULL_OBJECT));
        assert_eq!(made("SHA256", Some(COMPOSITE)), ("sha256", COMPOSITE));
        let with = |t: &str, a: &str| {
            Err(format!(
                "The {t} checksum type cannot be used with the {a} checksum algorithm."
            ))
        };
        assert_eq!(
            create(Some("SHA1"), Some(FULL_OBJECT)),
            with(FULL_OBJECT, "sha1")
        );
        assert_eq!(
            create(Some("SHA256"), Some(FULL_OBJECT)),
            with(FULL_OBJECT, "sha256")
        );
        assert_eq!(
            create(Some("CRC64NVME"), Some(COMPOSITE)),
            with(COMPOSITE, "crc64nvme")
        );
        assert!(
            create(None, Some(COMPOSITE))
                .unwrap_err()
                .contains("can only be used with")
        );
        assert!(
            create(Some("MD4"), None)
                .unwrap_err()
                .contains("unsupported")
        );
        assert!(
            create(Some("CRC32"), Some("PARTS"))
                .unwrap_err()
                .contains("x-amz-checksum-type")
        );
        let sha512 = UploadChecksum::create(Some("SHA512"), None).unwrap_err();
        assert_eq!(*sha512.code(), s3s::S3ErrorCode::NotImplemented);
        // Recorded and read back; S3's default is recorded as nothing.
        for u in [
            create(Some("SHA1"), None).unwrap(),
            create(Some("CRC32"), Some(FULL_OBJECT)).unwrap(),
        ] {
            let mut attrs = Attrs::default();
            u.record(&mut attrs);
            assert_eq!(UploadChecksum::of(&attrs), u);
        }
        let mut attrs = Attrs::default();
        UploadChecksum::DEFAULT.record(&mut attrs);
        assert_eq!(attrs, Attrs::default());
    }

    #[test]
    fn completion_checks_the_parts_and_the_claim() {
        let sha256 = UploadChecksum::create(Some("SHA256"), None).unwrap();
        let stored = BTreeMap::from([("sha256".to_string(), "S".to_string())]);
        let listed = |i: usize, v: &str| {
            let mut l: [Option<String>; 5] = Default::default();
            l[i] = Some(v.to_string());
            l
        };
        let message = |r: S3Result<()>| r.err().map(|e| e.code().as_str().to_string());
        // In ALGORITHMS' order: crc32, crc32c, sha1, sha256, crc64nvme.
        assert_eq!(
            message(sha256.check_listed_part(1, &listed(3, "S"), &stored)),
            None
        );
        assert_eq!(
            message(sha256.check_listed_part(1, &listed(3, "T"), &stored)).as_deref(),
            Some("InvalidPart")
        );
        assert_eq!(
            message(sha256.check_listed_part(1, &listed(0, "S"), &stored)).as_deref(),
            Some("InvalidPart")
        );
        let missing = sha256
            .check_listed_part(7, &Default::default(), &stored)
            .unwrap_err();
        assert_eq!(
            missing.message(),
            Some(
                "The upload was created using a sha256 checksum. The complete request must include the checksum for each part. It was missing for part 7 in the request."
            )
        );
        // S3's default names nothing: a part listed without checksums is fine.
        let default = UploadChecksum::DEFAULT;
        assert_eq!(
            message(default.check_listed_part(1, &Default::default(), &BTreeMap::new())),
            None
        );

        assert_eq!(
            sha256
                .claimed(listed(3, "x-2"), Some(COMPOSITE))
                .unwrap()
                .as_deref(),
            Some("x-2")
        );
        let mode = sha256
            .claimed(Default::default(), Some(FULL_OBJECT))
            .unwrap_err();
        assert_eq!(*mode.code(), s3s::S3ErrorCode::BadDigest);
        assert!(
            mode.message()
                .unwrap()
                .contains("created using the COMPOSITE checksum mode")
        );
        let other = sha256.claimed(listed(0, "AAAAAA=="), None).unwrap_err();
        assert_eq!(
            other.message(),
            Some(
                "Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: crc32"
            )
        );
        let unnamed = default.claimed(listed(0, "AAAAAA=="), None).unwrap_err();
        assert!(
            unnamed
                .message()
                .unwrap()
                .contains("expected checksum Type: null, actual checksum Type: crc32")
        );
        assert_eq!(message(sha256.check_claim(Some("x-2"), "x-2")), None);
        assert_eq!(message(sha256.check_claim(Some("x"), "x-2")), None);
        assert_eq!(message(sha256.check_claim(None, "x-2")), None);
        assert_eq!(
            message(sha256.check_claim(Some("y-2"), "x-2")).as_deref(),
            Some("BadDigest")
        );
    }

    /// Checksums of an object of two parts, 5 MiB of `A` and `tail`, as S3
    /// answers them (the values s3-tests and other S3 emulators check).
    #[test]
    fn composite_checksums_are_s3s() {
        let parts: [&[u8]; 2] = [&vec![b'A'; 5 * 1024 * 1024], b"tail"];
        let of = |algorithm: &str, composite: bool| {
            let kind = if composite { COMPOSITE } else { FULL_OBJECT };
            let u = UploadChecksum::create(Some(algorithm), Some(kind)).unwrap();
            let sums: Vec<(String, u64)> = parts
                .iter()
                .map(|p| (u.algorithm.compute(p), p.len() as u64))
                .collect();
            let value = u.of_parts(&sums).unwrap();
            if !composite {
                assert_eq!(value, u.algorithm.compute(&parts.concat()), "{algorithm}");
            }
            value
        };
        assert_eq!(of("CRC32", true), "ar6UVw==-2");
        assert_eq!(of("CRC32", false), "gPNU7Q==");
        assert_eq!(of("CRC32C", true), "9nmlxg==-2");
        assert_eq!(of("CRC32C", false), "LZbOwA==");
        assert_eq!(of("CRC64NVME", false), "UpfGsWmSCEg=");
        assert_eq!(of("SHA1", true), "l89BPfYtRdlTXZSsCsWMB0Elnjg=-2");
        assert_eq!(
            of("SHA256", true),
            "2kYaKgwMh4G97NB7sxufv13cvQqUqNgjK75WsW6s16Q=-2"
        );
    }

    #[test]
    fn a_copy_keeps_or_computes_a_whole_objects_checksum() {
        let source = |name: &str, value: &str, kind: Option<&str>| Attrs {
            checksums: BTreeMap::from([(name.to_string(), value.to_string())]),
            checksum_type: kind.map(str::to_string),
            ..Default::default()
        };
        let copy = |asked: Option<&str>, attrs: &Attrs| {
            let (a, reused) = for_copy(asked, attrs).unwrap();
            (a.key(), reused)
        };
        let whole = source("crc32", "v", None);
        assert_eq!(copy(None, &whole), ("crc32", Some("v".into())));
        assert_eq!(copy(Some("SHA256"), &whole), ("sha256", None));
        let parts = source("sha1", "v-3", Some(COMPOSITE));
        assert_eq!(copy(None, &parts), ("sha1", None));
        assert_eq!(copy(None, &Attrs::default()), ("crc64nvme", None));
        assert!(for_copy(Some("MD4"), &whole).is_err());
    }

    #[test]
    fn parts_take_their_uploads_algorithm() {
        let none = || Checksums::new(Default::default(), None, &http::HeaderMap::new()).unwrap();
        let crc32 = || {
            let mut v: [Option<String>; 5] = Default::default();
            v[0] = Some("NhCmhg==".into());
            Checksums::new(v, None, &http::HeaderMap::new()).unwrap()
        };
        let names = |c: &Checksums| {
            c.wanted
                .iter()
                .map(|(n, v)| (*n, v.is_some()))
                .collect::<Vec<_>>()
        };
        let sha1 = UploadChecksum::create(Some("SHA1"), None).unwrap();
        assert_eq!(names(&sha1.for_part(none()).unwrap()), [("sha1", false)]);
        let other = sha1.for_part(crc32()).err().unwrap();
        assert!(
            other
                .message()
                .unwrap()
                .contains("expected checksum Type: sha1, actual checksum Type: crc32")
        );
        assert_eq!(
            names(&UploadChecksum::DEFAULT.for_part(none()).unwrap()),
            [("crc64nvme", false)]
        );
        // An upload that named nothing verifies and keeps what a part sends.
        assert_eq!(
            names(&UploadChecksum::DEFAULT.for_part(crc32()).unwrap()),
            [("crc32", true)]
        );
    }
}
