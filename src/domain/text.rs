//! Constrained strings: parsed once at the edge, trusted everywhere after.

use super::DomainError;

fn bounded(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let s = optional(field, raw, max)?;
    if s.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    Ok(s)
}

/// [`bounded`] for text that must stay on one line: a line break (CR, LF, or Unicode's line and
/// paragraph separators) or a tab in a name would start a new line, or a new property, in every
/// line-based format it is written into (an iCalendar feed, a mail header, a log line).
fn one_line(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let s = bounded(field, raw, max)?;
    if s.chars().any(breaks_line) {
        return Err(DomainError::invalid(
            field,
            "must be one line, without line breaks or tabs",
        ));
    }
    Ok(s)
}

/// Whether `c` is a control character or a line or paragraph separator.
pub fn breaks_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Trimmed text of at most `max` characters and no control characters but line breaks and tabs;
/// empty is allowed.
pub fn optional(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $check:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            pub fn parse(field: &'static str, raw: &str) -> Result<Self, DomainError> {
                $check(field, raw, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_type!(
    /// A display name or title: one line, up to 200 characters.
    Name, 200, one_line
);
text_type!(
    /// A message posted to a status page: up to 5,000 characters.
    Message, 5_000, bounded
);

/// A URL-safe identifier: lowercase letters, digits and single dashes, 2 to 48 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=48).contains(&s.len())
            || !ok_chars
            || s.starts_with('-')
            || s.ends_with('-')
            || s.contains("--")
        {
            return Err(DomainError::invalid(
                field,
                "must be 2 to 48 lowercase letters, digits or single dashes",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, lowercased. Deliberately loose: one `@`, a dot in the domain, no spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_lowercase();
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && domain.contains('.')
                        && !domain.contains('@')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if !valid {
            return Err(DomainError::invalid(
                "email",
                "is not a valid email address",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("title", "  Outage ").map(Name::into_inner),
            Ok("Outage".into())
        );
        assert!(Name::parse("title", "   ").is_err());
        assert!(Name::parse("title", &"x".repeat(201)).is_err());
        assert!(Name::parse("title", "bell\u{7}").is_err());
        assert!(Message::parse("message", "line one\nline two").is_ok());
        for bad in ["a\rb", "a\nb", "a\r\nSUMMARY:x", "a\tb", "a\u{2028}b"] {
            let e = Name::parse("name", bad).err().map(|e| e.to_string());
            assert!(e.is_some_and(|e| e.contains("one line")), "{bad:?}");
        }
    }

    #[test]
    fn slugs_reject_odd_shapes() {
        for bad in ["a", "Api", "api_v2", "-api", "api-", "a--b", "ápi", ""] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad}");
        }
        assert!(Slug::parse("slug", "api-v2").is_ok());
    }

    #[test]
    fn emails_are_lowercased() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").map(|e| e.0),
            Ok("ada@example.com".into())
        );
        for bad in ["ada", "ada@", "@x.io", "a b@x.io", "a@x", "a@@x.io"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
