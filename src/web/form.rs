//! Form bodies as name/value pairs: repeated names and unknown fields are fine, and a missing field is a
//! clear error rather than a deserializer's message.

use super::WebError;

pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, name: &'static str) -> Result<&str, WebError> {
        self.get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| WebError::BadRequest(format!("{name} is required")))
    }

    /// A checkbox: present means on.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
    }

    /// Every pair whose name starts with `prefix`, with the prefix cut off.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }
}
