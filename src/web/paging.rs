//! Filtered, paged admin listings: reading a filter from the query string (a bad value is refused
//! beside its field) and the previous/next links.

use crate::domain::DomainError;
use crate::service::audit::MAX_OFFSET;

/// One of a fixed set of values; absent or empty means the first. Anything else names the choices.
pub fn choice<T: Copy>(
    raw: Option<&str>,
    field: &'static str,
    options: &[(&str, T)],
) -> Result<T, DomainError> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let refused = || DomainError::invalid(field, format!("must be one of {}", names.join(", ")));
    let Some((_, first)) = options.first() else {
        return Err(refused());
    };
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(*first),
        Some(r) => options
            .iter()
            .find(|(n, _)| *n == r)
            .map(|(_, v)| *v)
            .ok_or_else(refused),
    }
}

/// Where a listing starts: a whole number from 0 to [`MAX_OFFSET`], 0 when absent.
pub fn offset(raw: Option<&str>) -> Result<i64, DomainError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(0),
        Some(r) => r
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=MAX_OFFSET).contains(n))
            .ok_or_else(|| {
                DomainError::invalid("offset", format!("must be a number from 0 to {MAX_OFFSET}"))
            }),
    }
}

/// The previous and next links of a listing shown `per_page` at a time.
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `base` is the listing's address with its filters (ending in `?` or `&`); `more` says whether
    /// anything follows this page.
    pub fn new(base: &str, offset: i64, per_page: i64, more: bool) -> Self {
        let prev = (offset > 0).then(|| format!("{base}offset={}", (offset - per_page).max(0)));
        let next = (more && offset + per_page <= MAX_OFFSET)
            .then(|| format!("{base}offset={}", offset + per_page));
        Self { prev, next }
    }
}

/// Keeps the first `per_page` items and says whether more followed.
pub fn split_page<T>(mut items: Vec<T>, per_page: i64) -> (Vec<T>, bool) {
    let keep = usize::try_from(per_page).unwrap_or(0);
    let more = items.len() > keep;
    items.truncate(keep);
    (items, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_links_follow_the_offset() {
        let p = Pager::new("/x?kind=a&", 0, 25, true);
        assert_eq!(p.prev, None);
        assert_eq!(p.next.as_deref(), Some("/x?kind=a&offset=25"));
        let p = Pager::new("/x?", 30, 25, false);
        assert_eq!(p.prev.as_deref(), Some("/x?offset=5"));
        assert_eq!(p.next, None);
    }

    #[test]
    fn filters_refuse_unknown_values() {
        let opts = [("all", 0), ("one", 1)];
        assert_eq!(choice(None, "state", &opts).ok(), Some(0));
        assert_eq!(choice(Some("one"), "state", &opts).ok(), Some(1));
        assert!(choice(Some("two"), "state", &opts).is_err());
        assert!(offset(Some("-1")).is_err());
        assert!(offset(Some("abc")).is_err());
        assert_eq!(offset(Some("50")).ok(), Some(50));
    }
}
