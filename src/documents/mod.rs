//! The documents of the API: request bodies read (CreateBucketConfiguration,
//! CompleteMultipartUpload) and response bodies written (S3's
//! ListAllMyBucketsResult and ListBucketResult, the proxy's PresignedUpload,
//! the `<Error>` document).
//!
//! Each response document is one `Serialize` type, serialized once in the
//! format the client negotiated: S3's XML, or JSON on `Accept:
//! application/json` (the shapes `openapi.yaml` documents). The two differ
//! only where XML must: XML omits an absent value where JSON writes `null`,
//! XML wraps the bucket list (`<Buckets><Bucket>…`) where JSON has an
//! array, and the root element carries S3's namespace.

mod requests;

pub use requests::{completed_parts, location_constraint};

use crate::outcome::{BucketList, ObjectEntry, ObjectList, PlannedUpload, UploadPlan};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Can XML 1.0 carry this text? (Not control characters other than tab,
/// newline and carriage return, nor U+FFFE / U+FFFF: S3 lets keys hold
/// them, and asks clients to list such keys with `encoding-type=url`.)
pub fn xml_safe(text: &str) -> bool {
    text.chars().all(|c| match c {
        '\t' | '\n' | '\r' => true,
        '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => false,
        _ => true,
    })
}

/// A listing XML can carry: when a key, prefix, delimiter or start-after
/// holds a character XML 1.0 cannot (S3 lets keys hold them), every one of
/// them is URL-encoded and the listing says so with
/// `<EncodingType>url</EncodingType>`, exactly as S3 answers a client that
/// asked for `encoding-type=url` (and as S3 asks clients to list such keys).
pub fn xml_carriable(mut list: ObjectList) -> ObjectList {
    if list.encoding_type.is_some() {
        return list;
    }
    let values = list
        .contents
        .iter()
        .map(|o| o.key.as_str())
        .chain(list.common_prefixes.iter().map(String::as_str))
        .chain(
            [&list.prefix, &list.delimiter, &list.start_after]
                .into_iter()
                .flatten()
                .map(String::as_str),
        );
    if values.into_iter().all(xml_safe) {
        return list;
    }
    let encode = |s: &mut String| *s = url_encode(s);
    for entry in &mut list.contents {
        encode(&mut entry.key);
    }
    list.common_prefixes.iter_mut().for_each(encode);
    for value in [&mut list.prefix, &mut list.delimiter, &mut list.start_after] {
        value.as_mut().map(encode);
    }
    list.encoding_type = Some("url".into());
    list
}

/// A listing's value as S3 writes it under `encoding-type=url`: letters,
/// digits, `-_.*` and `/` as they are, a space as `+` (so a literal `+` is
/// `%2B`), every other byte of the UTF-8 as `%XX`. Observed of S3: `a b.txt`
/// is `a+b.txt`, `한글/x.txt` is `%ED%95%9C%EA%B8%80/x.txt`; SDKs decode
/// it form-style (botocore's `unquote_plus`, Java's `URLDecoder`).
pub fn url_encode(value: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEPT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'*')
        .remove(b'/');
    // `%` itself is encoded, so every `%20` written is a space.
    utf8_percent_encode(value, KEPT)
        .to_string()
        .replace("%20", "+")
}

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xml => "application/xml",
            Self::Json => "application/json",
        }
    }

    /// The document, written in this format.
    pub fn write<T: Serialize>(self, doc: &T) -> String {
        let written = match self {
            Self::Json => serde_json::to_string(doc).map_err(|e| e.to_string()),
            Self::Xml => {
                let mut out = String::from(XML_DECLARATION);
                quick_xml::se::to_writer(&mut out, doc)
                    .map(|_| out)
                    .map_err(|e| e.to_string())
            }
        };
        // Plain structs of strings and numbers do not fail to serialize.
        written.unwrap_or_else(|e| {
            tracing::error!(error = %e, "document serialization failed");
            String::new()
        })
    }
}

/// A struct being written in a format: the fields that differ between XML
/// and JSON are written through it.
struct Fields<S: SerializeStruct> {
    out: S,
    format: Format,
}

impl<S: SerializeStruct> Fields<S> {
    fn begin<Ser>(serializer: Ser, name: &'static str, format: Format) -> Result<Self, Ser::Error>
    where
        Ser: Serializer<SerializeStruct = S, Error = S::Error>,
    {
        Ok(Self {
            out: serializer.serialize_struct(name, 16)?,
            format,
        })
    }

    /// S3's namespace on the root element (XML only).
    fn namespace(&mut self) -> Result<(), S::Error> {
        match self.format {
            Format::Xml => self.out.serialize_field("@xmlns", S3_XMLNS),
            Format::Json => Ok(()),
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, v: &T) -> Result<(), S::Error> {
        self.out.serialize_field(name, v)
    }

    /// An absent value: omitted in XML, `null` in JSON.
    fn optional<T: Serialize>(&mut self, name: &'static str, v: Option<T>) -> Result<(), S::Error> {
        match (self.format, v) {
            (Format::Xml, None) => Ok(()),
            (_, v) => self.out.serialize_field(name, &v),
        }
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.out.end()
    }
}

/// A list XML writes as `<Outer><Item/>…</Outer>` and JSON as an array.
struct Wrapped<'a, T> {
    format: Format,
    item: &'static str,
    items: &'a [T],
}

impl<T: Serialize> Serialize for Wrapped<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.format {
            Format::Json => serializer.collect_seq(self.items),
            Format::Xml => {
                let mut out = serializer.serialize_struct("List", 1)?;
                out.serialize_field(self.item, self.items)?;
                out.end()
            }
        }
    }
}

/// S3's ListAllMyBucketsResult.
pub struct ListAllMyBucketsResult<'a> {
    pub format: Format,
    pub list: &'a BucketList,
}

impl Serialize for ListAllMyBucketsResult<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let list = self.list;
        let mut doc = Fields::begin(serializer, "ListAllMyBucketsResult", self.format)?;
        doc.namespace()?;
        let has_owner = list.owner_id.is_some() || list.owner_name.is_some();
        if has_owner || self.format == Format::Json {
            doc.field("Owner", &Owner(self.format, list))?;
        }
        let buckets: Vec<Bucket> = list
            .buckets
            .iter()
            .map(|b| Bucket(self.format, &b.name, b.creation_date.as_deref()))
            .collect();
        doc.field(
            "Buckets",
            &Wrapped {
                format: self.format,
                item: "Bucket",
                items: &buckets,
            },
        )?;
        doc.end()
    }
}

struct Owner<'a>(Format, &'a BucketList);

impl Serialize for Owner<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut doc = Fields::begin(serializer, "Owner", self.0)?;
        doc.optional("ID", self.1.owner_id.as_deref())?;
        doc.optional("DisplayName", self.1.owner_name.as_deref())?;
        doc.end()
    }
}

struct Bucket<'a>(Format, &'a str, Option<&'a str>);

impl Serialize for Bucket<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut doc = Fields::begin(serializer, "Bucket", self.0)?;
        doc.field("Name", self.1)?;
        doc.optional("CreationDate", self.2)?;
        doc.end()
    }
}

/// S3's ListBucketResult (ListObjectsV2).
pub struct ListBucketResult<'a> {
    pub format: Format,
    pub list: &'a ObjectList,
}

impl Serialize for ListBucketResult<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (list, format) = (self.list, self.format);
        let mut doc = Fields::begin(serializer, "ListBucketResult", format)?;
        doc.namespace()?;
        doc.field("Name", &list.name)?;
        doc.field("Prefix", list.prefix.as_deref().unwrap_or_default())?;
        doc.optional("Delimiter", list.delimiter.as_deref())?;
        doc.field("MaxKeys", &list.max_keys)?;
        doc.field("KeyCount", &list.key_count)?;
        doc.field("IsTruncated", &list.is_truncated)?;
        doc.optional("ContinuationToken", list.continuation_token.as_deref())?;
        doc.optional(
            "NextContinuationToken",
            list.next_continuation_token.as_deref(),
        )?;
        doc.optional("StartAfter", list.start_after.as_deref())?;
        if list.encoding_type.is_some() {
            doc.field("EncodingType", &list.encoding_type)?;
        }
        let contents: Vec<Content> = list.contents.iter().map(|o| Content(format, o)).collect();
        doc.field("Contents", &contents)?;
        let prefixes: Vec<CommonPrefix> = list
            .common_prefixes
            .iter()
            .map(|p| CommonPrefix { prefix: p })
            .collect();
        doc.field("CommonPrefixes", &prefixes)?;
        doc.end()
    }
}

struct Content<'a>(Format, &'a ObjectEntry);

impl Serialize for Content<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let o = self.1;
        let mut doc = Fields::begin(serializer, "Contents", self.0)?;
        doc.field("Key", &o.key)?;
        doc.optional("LastModified", o.last_modified.as_deref())?;
        doc.optional("ETag", o.etag.as_deref())?;
        doc.field("Size", &o.size)?;
        doc.optional("StorageClass", o.storage_class.as_deref())?;
        doc.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefix<'a> {
    prefix: &'a str,
}

/// The proxy's answer to `POST /{folder}/{item}?uploads`.
pub struct PresignedUpload<'a> {
    pub format: Format,
    pub plan: &'a UploadPlan,
}

impl Serialize for PresignedUpload<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (plan, format) = (self.plan, self.format);
        let (url, headers, multipart) = match &plan.upload {
            PlannedUpload::Single { url, headers } => (Some(url.as_str()), &headers[..], None),
            PlannedUpload::Multipart {
                upload_id,
                part_size,
                parts,
            } => (None, &[][..], Some((upload_id, *part_size, parts))),
        };
        let mut doc = Fields::begin(serializer, "PresignedUpload", format)?;
        doc.field("Bucket", &plan.bucket)?;
        doc.field("Key", &plan.key)?;
        doc.field("ExpiresIn", &plan.expires_in)?;
        doc.field("Method", "PUT")?;
        doc.optional("Url", url)?;
        match format {
            Format::Xml => {
                let headers: Vec<Header> = headers.iter().map(|(n, v)| Header(n, v)).collect();
                doc.field("Header", &headers)?;
            }
            Format::Json => doc.field("Headers", &HeaderMap(headers))?,
        }
        doc.optional("UploadId", multipart.map(|m| m.0))?;
        doc.optional("PartSize", multipart.and_then(|m| m.1))?;
        let parts: Vec<Part> = multipart
            .map(|m| m.2.iter().map(|(n, url)| Part(*n, url)).collect())
            .unwrap_or_default();
        let parts_name = match format {
            Format::Xml => "Part",
            Format::Json => "Parts",
        };
        doc.field(parts_name, &parts)?;
        doc.optional("Complete", complete_request(plan))?;
        doc.end()
    }
}

struct Header<'a>(&'a str, &'a str);

impl Serialize for Header<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Header", 2)?;
        out.serialize_field("Name", self.0)?;
        out.serialize_field("Value", self.1)?;
        out.end()
    }
}

/// Signed headers as one JSON object, sorted by name.
struct HeaderMap<'a>(&'a [(String, String)]);

impl Serialize for HeaderMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let sorted: std::collections::BTreeMap<&str, &str> = self
            .0
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let mut map = serializer.serialize_map(Some(sorted.len()))?;
        for (name, value) in sorted {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

struct Part<'a>(i32, &'a str);

impl Serialize for Part<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Part", 2)?;
        out.serialize_field("PartNumber", &self.0)?;
        out.serialize_field("Url", self.1)?;
        out.end()
    }
}

/// How to finish a multipart upload, stage-relative.
fn complete_request(plan: &UploadPlan) -> Option<String> {
    let PlannedUpload::Multipart { upload_id, .. } = &plan.upload else {
        return None;
    };
    let encode = |s| percent_encoding::utf8_percent_encode(s, KEY_SEGMENT);
    Some(format!(
        "POST /{}/{}?uploadId={}",
        plan.bucket,
        encode(&plan.key),
        encode(upload_id)
    ))
}

/// Everything but unreserved characters and `/` is escaped in a key path.
const KEY_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The body of an error response: `<Error><Code/><Message/><RequestId/></Error>`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename = "Error", rename_all = "PascalCase")]
pub struct ErrorDocument {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::BucketEntry;

    fn object_list() -> ObjectList {
        ObjectList {
            name: "b-1".into(),
            prefix: Some("a/".into()),
            delimiter: Some("/".into()),
            max_keys: 2,
            key_count: 2,
            is_truncated: true,
            next_continuation_token: Some("tok".into()),
            contents: vec![ObjectEntry {
                key: "a/x & y.txt".into(),
                last_modified: Some("2026-11-25T06:00:00Z".into()),
                etag: Some("\"e\"".into()),
                size: 5,
                storage_class: Some("STANDARD".into()),
            }],
            common_prefixes: vec!["a/sub/".into()],
            ..Default::default()
        }
    }

    #[test]
    fn listings_are_s3_xml() {
        let list = object_list();
        let xml = Format::Xml.write(&ListBucketResult {
            format: Format::Xml,
            list: &list,
        });
        assert!(xml.starts_with(XML_DECLARATION));
        for part in [
            "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
            "<Name>b-1</Name><Prefix>a/</Prefix><Delimiter>/</Delimiter><MaxKeys>2</MaxKeys>",
            "<IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken>",
            "<Contents><Key>a/x &amp; y.txt</Key><LastModified>2026-11-25T06:00:00Z</LastModified>",
            "<ETag>\"e\"</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>",
            "<CommonPrefixes><Prefix>a/sub/</Prefix></CommonPrefixes>",
        ] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
        assert!(
            !xml.contains("ContinuationToken>tok</ContinuationToken><"),
            "{xml}"
        );
        assert!(!xml.contains("StartAfter"), "{xml}");

        let buckets = BucketList {
            buckets: vec![BucketEntry {
                name: "b-1".into(),
                creation_date: Some("2026-11-25T06:00:00Z".into()),
            }],
            ..Default::default()
        };
        let xml = Format::Xml.write(&ListAllMyBucketsResult {
            format: Format::Xml,
            list: &buckets,
        });
        assert!(
            xml.ends_with(
                "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Buckets><Bucket><Name>b-1</Name><CreationDate>2026-11-25T06:00:00Z</CreationDate>\
                 </Bucket></Buckets></ListAllMyBucketsResult>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn listings_are_json_with_nulls() {
        let list = object_list();
        let json = Format::Json.write(&ListBucketResult {
            format: Format::Json,
            list: &list,
        });
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Contents"][0]["Key"], "a/x & y.txt");
        assert_eq!(v["NextContinuationToken"], "tok");
        assert_eq!(v["CommonPrefixes"][0]["Prefix"], "a/sub/");
        assert_eq!(v["StartAfter"], serde_json::Value::Null);
        assert!(v.get("@xmlns").is_none());

        let buckets = BucketList {
            buckets: vec![BucketEntry {
                name: "b-1".into(),
                creation_date: None,
            }],
            ..Default::default()
        };
        let json = Format::Json.write(&ListAllMyBucketsResult {
            format: Format::Json,
            list: &buckets,
        });
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).unwrap(),
            serde_json::json!({
                "Owner": {"ID": null, "DisplayName": null},
                "Buckets": [{"Name": "b-1", "CreationDate": null}],
            })
        );
    }

    #[test]
    fn upload_plans_name_their_parts_per_format() {
        let plan = UploadPlan {
            bucket: "b-1".into(),
            key: "big file.bin".into(),
            expires_in: 900,
            upload: PlannedUpload::Multipart {
                upload_id: "u/1".into(),
                part_size: Some(64),
                parts: vec![(1, "https://s3/1".into())],
            },
        };
        let xml = Format::Xml.write(&PresignedUpload {
            format: Format::Xml,
            plan: &plan,
        });
        assert!(
            xml.contains("<UploadId>u/1</UploadId><PartSize>64</PartSize>"),
            "{xml}"
        );
        assert!(xml.contains("<Part><PartNumber>1</PartNumber><Url>https://s3/1</Url></Part>"));
        assert!(xml.contains("<Complete>POST /b-1/big%20file.bin?uploadId=u/1</Complete>"));
        let json = Format::Json.write(&PresignedUpload {
            format: Format::Json,
            plan: &plan,
        });
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Parts"][0]["Url"], "https://s3/1");
        assert_eq!(v["Url"], serde_json::Value::Null);
        assert_eq!(v["Headers"], serde_json::json!({}));

        let single = UploadPlan {
            upload: PlannedUpload::Single {
                url: "https://s3/put".into(),
                headers: vec![("content-type".into(), "image/png".into())],
            },
            ..plan
        };
        let json = Format::Json.write(&PresignedUpload {
            format: Format::Json,
            plan: &single,
        });
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Headers"]["content-type"], "image/png");
        assert_eq!(v["Complete"], serde_json::Value::Null);
        let xml = Format::Xml.write(&PresignedUpload {
            format: Format::Xml,
            plan: &single,
        });
        assert!(xml.contains("<Header><Name>content-type</Name><Value>image/png</Value></Header>"));
        assert!(!xml.contains("UploadId"), "{xml}");
    }

    #[test]
    fn values_are_url_encoded_as_s3_encodes_them() {
        let cases = [
            ("a b.txt", "a+b.txt"),
            ("a+b.txt", "a%2Bb.txt"),
            ("100%.csv", "100%25.csv"),
            ("한글/x.txt", "%ED%95%9C%EA%B8%80/x.txt"),
            ("run books/x.txt", "run+books/x.txt"),
            ("a-b_c.d*e~f", "a-b_c.d*e%7Ef"),
            ("ctl\u{1e}%20", "ctl%1E%2520"),
        ];
        for (value, encoded) in cases {
            assert_eq!(url_encode(value), encoded, "{value:?}");
        }
    }

    #[test]
    fn keys_xml_cannot_carry_go_url_encoded_as_s3_sends_them() {
        let list = ObjectList {
            name: "b-1".into(),
            delimiter: Some("/".into()),
            contents: vec![
                ObjectEntry {
                    key: "ctl\u{1e}char".into(),
                    ..Default::default()
                },
                ObjectEntry {
                    key: "a b+c".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let xml = Format::Xml.write(&ListBucketResult {
            format: Format::Xml,
            list: &xml_carriable(list.clone()),
        });
        assert!(xml.contains("<Key>ctl%1Echar</Key><"), "{xml}");
        assert!(xml.contains("<Key>a+b%2Bc</Key>"), "{xml}");
        assert!(xml.contains("<Delimiter>/</Delimiter>"), "{xml}");
        assert!(xml.contains("<EncodingType>url</EncodingType>"), "{xml}");
        let plain = ObjectList {
            contents: vec![list.contents[1].clone()],
            ..list
        };
        assert_eq!(xml_carriable(plain.clone()), plain, "nothing to encode");
    }
}
