//! [`FileContent`]: a file read back from the workspace, as text when it is valid UTF-8.

use serde::{Deserialize, Serialize};

/// The content of one file: text when it is valid UTF-8, bytes otherwise.
///
/// Serialized as `{"text": "..."}` or `{"base64": "..."}`, so JSON output loses no byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileContent {
    /// Valid UTF-8.
    Text(String),
    /// Anything else (serialized as base64).
    #[serde(rename = "base64", with = "base64_bytes")]
    Bytes(Vec<u8>),
}

impl FileContent {
    /// Text when `bytes` is valid UTF-8, bytes otherwise.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(s) => FileContent::Text(s),
            Err(e) => FileContent::Bytes(e.into_bytes()),
        }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            FileContent::Text(s) => s.as_bytes(),
            FileContent::Bytes(b) => b,
        }
    }

    /// The text, when the file is valid UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FileContent::Text(s) => Some(s),
            FileContent::Bytes(_) => None,
        }
    }

    /// The raw bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            FileContent::Text(s) => s.into_bytes(),
            FileContent::Bytes(b) => b,
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Serde helpers: `Vec<u8>` as a standard base64 string.
pub(crate) mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_bytes_serialize_without_loss() {
        let t = FileContent::from_bytes(b"hi\n".to_vec());
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"text":"hi\n"}"#);
        let b = FileContent::from_bytes(vec![0xff, 0x00]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, r#"{"base64":"/wA="}"#);
        assert_eq!(serde_json::from_str::<FileContent>(&json).unwrap(), b);
    }
}
