//! What every public page of a status page carries besides its content: the team's brand in the
//! header (logo, name, a link to the team's own site), the favicon, and the tags link previews read
//! (`<meta name=description>`, OpenGraph, Twitter card) with the page's current status sentence.

use crate::domain::{Page, PageStatus};

/// The favicon of a page without a logo, served from `static/`.
const DEFAULT_ICON: &str = "/static/favicon.svg";

/// The header and `<head>` of one public page (askama escapes every field where it is written).
pub struct Brand {
    pub name: String,
    pub slug: String,
    /// The document's title as previews show it.
    pub title: String,
    pub description: String,
    /// This document's absolute URL, under the configured public URL.
    pub url: String,
    pub logo_url: String,
    pub icon: String,
    /// Where the name in the header leads: the team's own site, else the status page.
    pub home: String,
    /// The accent colour as the one inline style a public page may carry.
    pub theme: Option<String>,
}

impl Brand {
    /// `path` is this document's path on the public side (`/status/{slug}/…`).
    pub fn new(
        page: &Page,
        public_url: &str,
        path: &str,
        title: String,
        status: PageStatus,
    ) -> Self {
        let b = &page.branding;
        let home = if b.support_url.is_empty() {
            format!("/status/{}", page.public_slug)
        } else {
            b.support_url.clone()
        };
        let description = if page.description.is_empty() {
            status.description.to_owned()
        } else {
            format!("{}. {}", status.description, page.description)
        };
        Self {
            name: page.name.clone(),
            slug: page.public_slug.clone(),
            title,
            description,
            url: format!("{}{path}", public_url.trim_end_matches('/')),
            icon: if b.logo_url.is_empty() {
                DEFAULT_ICON.to_owned()
            } else {
                b.logo_url.clone()
            },
            logo_url: b.logo_url.clone(),
            home,
            theme: super::status_page::theme_of(page),
        }
    }

    /// The page's content-security policy: its logo (and so its favicon) may come from any https host.
    pub fn policy(&self) -> String {
        super::status_page::page_policy(!self.logo_url.is_empty(), self.theme.as_deref())
    }
}
