//! Pages, components and the status definitions a component can be in.

use super::DomainError;

/// The status definitions, in rising order of severity (maintenance is planned, so it ranks below
/// any degradation when the page's overall status is worked out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 5] = [
        Self::Operational,
        Self::DegradedPerformance,
        Self::PartialOutage,
        Self::MajorOutage,
        Self::UnderMaintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::DegradedPerformance => "degraded_performance",
            Self::PartialOutage => "partial_outage",
            Self::MajorOutage => "major_outage",
            Self::UnderMaintenance => "under_maintenance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::DegradedPerformance => "Degraded performance",
            Self::PartialOutage => "Partial outage",
            Self::MajorOutage => "Major outage",
            Self::UnderMaintenance => "Under maintenance",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Operational => "Working normally.",
            Self::DegradedPerformance => "Working, but slower or less reliable than usual.",
            Self::PartialOutage => "Failing for some users or some requests.",
            Self::MajorOutage => "Unavailable for most or all users.",
            Self::UnderMaintenance => "Planned work is in progress.",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            DomainError::invalid(
                "status",
                "must be one of operational, degraded_performance, partial_outage, major_outage, under_maintenance",
            )
        })
    }

    /// A page's overall status is its worst component's.
    pub fn overall(statuses: impl IntoIterator<Item = ComponentStatus>) -> ComponentStatus {
        statuses
            .into_iter()
            .max()
            .unwrap_or(ComponentStatus::Operational)
    }
}

/// Groups hold components; components hold a status. A group's shown status is its worst child's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    Group,
    Component,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Component => "component",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "group" => Ok(Self::Group),
            "component" => Ok(Self::Component),
            _ => Err(DomainError::invalid("kind", "must be group or component")),
        }
    }
}

/// The longest URL a page keeps for its logo or support link.
pub const MAX_LINK: usize = 2_048;

/// The longest description a page or component keeps.
pub const MAX_DESCRIPTION: usize = 2_000;

/// The light theme's page background (`--bg` in static/style.css): of the surfaces an accent is
/// read on (links there and on white cards, white text on accent buttons) the one it contrasts least with.
const LIGHT_BACKGROUND: [u8; 3] = [0xf6, 0xf7, 0xf9];

/// WCAG 2's minimum contrast for normal-size text (level AA).
const AA_TEXT_CONTRAST: f64 = 4.5;

/// An accent colour: empty (the default look) or `#rrggbb`, kept in lowercase, dark enough that links
/// and buttons in it stay readable (WCAG AA) on the light theme. The dark theme keeps its own accent.
pub fn accent_color(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let Some(rgb) = s.strip_prefix('#').and_then(parse_rgb) else {
        return Err(DomainError::invalid(
            "accent_color",
            "must be a colour written #rrggbb, for example #1a5fd0",
        ));
    };
    let ratio = contrast_ratio(rgb, LIGHT_BACKGROUND);
    if ratio < AA_TEXT_CONTRAST {
        return Err(DomainError::invalid(
            "accent_color",
            format!(
                "is too light to read on the page: {ratio:.2}:1 against its background, and text \
                 needs {AA_TEXT_CONTRAST}:1; try a darker shade, for example #1a5fd0"
            ),
        ));
    }
    Ok(s.to_ascii_lowercase())
}

fn parse_rgb(hex: &str) -> Option<[u8; 3]> {
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG 2 relative luminance of an sRGB colour.
fn luminance(rgb: [u8; 3]) -> f64 {
    let [r, g, b] = rgb.map(|c| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    });
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

/// WCAG 2 contrast ratio of two colours, from 1 (same) to 21 (black on white).
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (a, b) = (luminance(a), luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// A public link (logo, support site): empty, or an https URL of printable characters. The public
/// page only ever links to https, so a page cannot send visitors to `javascript:` or plain http.
pub fn https_link(field: &'static str, raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let host = s.strip_prefix("https://").unwrap_or("");
    if host.is_empty() || host.starts_with('/') {
        return Err(DomainError::invalid(field, "must be an https:// URL"));
    }
    if s.len() > MAX_LINK {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {MAX_LINK} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'))
    {
        return Err(DomainError::invalid(
            field,
            "must not contain spaces, quotes or angle brackets",
        ));
    }
    Ok(s.to_owned())
}

/// A description: may be empty, one paragraph or several, up to [`MAX_DESCRIPTION`] characters.
pub fn description(field: &'static str, raw: &str) -> Result<String, DomainError> {
    super::text::optional(field, raw, MAX_DESCRIPTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_status_is_the_worst() {
        use ComponentStatus::*;
        assert_eq!(ComponentStatus::overall([]), Operational);
        assert_eq!(
            ComponentStatus::overall([Operational, UnderMaintenance]),
            UnderMaintenance
        );
        assert_eq!(
            ComponentStatus::overall([UnderMaintenance, PartialOutage, Operational]),
            PartialOutage
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in ComponentStatus::ALL {
            assert_eq!(ComponentStatus::parse(s.as_str()), Ok(s));
        }
        assert!(ComponentStatus::parse("fine").is_err());
    }

    #[test]
    fn contrast_ratios_match_wcag() {
        assert!((contrast_ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio([9, 9, 9], [9, 9, 9]) - 1.0).abs() < 1e-9);
        // #767676 on white is the well-known lightest grey that passes AA (4.54:1).
        let grey = contrast_ratio([0x76, 0x76, 0x76], [255, 255, 255]);
        assert!((4.5..4.6).contains(&grey), "{grey}");
    }

    #[test]
    fn branding_values_are_checked() {
        assert_eq!(accent_color(" #1A5FD0 ").as_deref(), Ok("#1a5fd0"));
        // Readable on the light page (4.5:1) or refused: #1f6feb reaches only 4.32:1 there.
        assert!(accent_color("#1f6feb").is_err());
        assert!(accent_color("#0a7d32").is_ok());
        assert_eq!(accent_color("").as_deref(), Ok(""));
        assert!(accent_color("red").is_err());
        assert!(accent_color("#12345").is_err());
        assert!(https_link("logo_url", "https://acme.example/logo.png").is_ok());
        assert!(https_link("logo_url", "http://acme.example/logo.png").is_err());
        assert!(https_link("logo_url", "javascript:alert(1)").is_err());
        assert!(https_link("logo_url", "https://").is_err());
        assert!(https_link("logo_url", "https://a.example/\"x").is_err());
        assert_eq!(https_link("support_url", "").as_deref(), Ok(""));
        assert!(description("description", &"x".repeat(MAX_DESCRIPTION + 1)).is_err());
        assert!(description("description", "a\u{0}b").is_err());
    }
}
