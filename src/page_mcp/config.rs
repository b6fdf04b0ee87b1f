//! Configuration of `statusgate-page-mcp`: each setting from a flag or its `STATUSGATE_*` variable
//! (the flag wins), checked before anything touches the network. Every refusal is one line.

use clap::Parser;

use super::catalog;

/// The command line; every flag has an environment variable of the same meaning.
#[derive(Parser, Debug)]
#[command(
    name = "statusgate-page-mcp",
    version,
    about = "MCP server over stdio for one statusgate page, reaching statusgate through /api/v1 with an API key"
)]
pub struct Flags {
    /// statusgate's public URL, e.g. https://status.example.com
    #[arg(long, env = "STATUSGATE_BASE_URL")]
    pub base_url: Option<String>,
    /// An API key made in statusgate (its API keys page, or `statusgate key create`)
    #[arg(long, env = "STATUSGATE_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// The organisation the page belongs to (checked against the page)
    #[arg(long, env = "STATUSGATE_ORG_ID")]
    pub org_id: Option<String>,
    /// The page to serve, by id
    #[arg(long, env = "STATUSGATE_PAGE_ID")]
    pub page_id: Option<String>,
    /// The organisation slug, with --public-slug, to find the page by its slugs
    #[arg(long, env = "STATUSGATE_ORG_SLUG")]
    pub org_slug: Option<String>,
    /// The page's public slug, with --org-slug
    #[arg(long = "public-slug", env = "STATUSGATE_PAGE_PUBLIC_SLUG")]
    pub public_slug: Option<String>,
    /// Publish resources and prompts only, no write tools
    #[arg(long, env = "STATUSGATE_MCP_READ_ONLY")]
    pub read_only: bool,
    /// Publish only these tools (comma-separated names)
    #[arg(long, env = "STATUSGATE_MCP_ALLOWED_TOOLS", value_delimiter = ',')]
    pub allowed_tools: Vec<String>,
}

/// How the page to serve is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageSelector {
    Id(String),
    Slugs {
        org: String,
        public: String,
    },
    /// Neither given: the page the API key is limited to, if it is.
    FromKey,
}

/// Checked settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// Without a trailing slash.
    pub base_url: String,
    pub token: String,
    pub org_id: Option<String>,
    pub page: PageSelector,
    pub read_only: bool,
    /// `None`: every tool; `Some`: only these (all known names).
    pub allowed_tools: Option<Vec<String>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("token", &"[redacted]")
            .field("org_id", &self.org_id)
            .field("page", &self.page)
            .field("read_only", &self.read_only)
            .field("allowed_tools", &self.allowed_tools)
            .finish()
    }
}

/// A setting that cannot work; `Display` is the one line printed before exiting.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("no statusgate URL: set STATUSGATE_BASE_URL or --base-url")]
    NoBaseUrl,
    #[error("STATUSGATE_BASE_URL `{0}` is not an http(s) URL")]
    BadBaseUrl(String),
    #[error("no API token: set STATUSGATE_API_TOKEN or --api-token")]
    NoToken,
    #[error("give both STATUSGATE_ORG_SLUG and STATUSGATE_PAGE_PUBLIC_SLUG (or --org-slug and --public-slug), or neither")]
    HalfSlug,
    #[error("STATUSGATE_MCP_ALLOWED_TOOLS names unknown tool `{0}`; known tools: {known}", known = catalog::names().join(", "))]
    UnknownTool(String),
}

fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Flags {
    /// Checks the flags without any network call.
    pub fn settings(self) -> Result<Settings, ConfigError> {
        let base = given(self.base_url).ok_or(ConfigError::NoBaseUrl)?;
        let parsed = url::Url::parse(&base).map_err(|_| ConfigError::BadBaseUrl(base.clone()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ConfigError::BadBaseUrl(base));
        }
        let token = given(self.api_token).ok_or(ConfigError::NoToken)?;
        let page = match (
            given(self.page_id),
            given(self.org_slug),
            given(self.public_slug),
        ) {
            (Some(id), _, _) => PageSelector::Id(id),
            (None, Some(org), Some(public)) => PageSelector::Slugs { org, public },
            (None, None, None) => PageSelector::FromKey,
            (None, _, _) => return Err(ConfigError::HalfSlug),
        };
        let names: Vec<String> = self
            .allowed_tools
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(bad) = names.iter().find(|n| catalog::tool(n).is_none()) {
            return Err(ConfigError::UnknownTool(bad.clone()));
        }
        Ok(Settings {
            base_url: base.trim_end_matches('/').to_owned(),
            token,
            org_id: given(self.org_id),
            page,
            read_only: self.read_only,
            allowed_tools: (!names.is_empty()).then_some(names),
        })
    }
}

impl Settings {
    /// Whether `tool` is published by the flags alone (the key's own limits come on top).
    pub fn publishes(&self, tool: &str) -> bool {
        !self.read_only
            && self
                .allowed_tools
                .as_ref()
                .is_none_or(|allowed| allowed.iter().any(|t| t == tool))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut all = vec!["statusgate-page-mcp"];
        all.extend_from_slice(args);
        Flags::try_parse_from(all).unwrap().settings()
    }

    #[test]
    fn flags_give_a_page_by_id_and_a_tool_list() {
        let s = parse(&[
            "--base-url",
            "https://status.example.com/",
            "--api-token",
            "sg_x",
            "--page-id",
            "pg_1",
            "--allowed-tools",
            "create_incident, add_incident_update",
        ])
        .unwrap();
        assert_eq!(s.base_url, "https://status.example.com");
        assert_eq!(s.page, PageSelector::Id("pg_1".into()));
        assert_eq!(
            s.allowed_tools,
            Some(vec!["create_incident".into(), "add_incident_update".into()])
        );
        assert!(s.publishes("create_incident"));
        assert!(!s.publishes("delete_incident"));
        assert!(!format!("{s:?}").contains("sg_x"));
    }

    #[test]
    fn slugs_must_come_in_pairs_and_no_page_means_the_keys_page() {
        let base = ["--base-url", "http://127.0.0.1:1", "--api-token", "t"];
        let mut both = base.to_vec();
        both.extend(["--org-slug", "acme", "--public-slug", "api"]);
        assert_eq!(
            parse(&both).unwrap().page,
            PageSelector::Slugs {
                org: "acme".into(),
                public: "api".into()
            }
        );
        let mut half = base.to_vec();
        half.extend(["--org-slug", "acme"]);
        assert_eq!(parse(&half), Err(ConfigError::HalfSlug));
        assert_eq!(parse(&base).unwrap().page, PageSelector::FromKey);
    }

    #[test]
    fn missing_or_wrong_settings_are_named() {
        assert_eq!(parse(&[]), Err(ConfigError::NoBaseUrl));
        assert_eq!(
            parse(&["--base-url", "ftp://x"]),
            Err(ConfigError::BadBaseUrl("ftp://x".into()))
        );
        assert_eq!(
            parse(&["--base-url", "http://x", "--api-token", " "]),
            Err(ConfigError::NoToken)
        );
        let err = parse(&[
            "--base-url",
            "http://x",
            "--api-token",
            "t",
            "--allowed-tools",
            "create_incident,drop_tables",
        ])
        .unwrap_err();
        assert_eq!(err, ConfigError::UnknownTool("drop_tables".into()));
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn read_only_hides_every_tool() {
        let s = parse(&["--base-url", "http://x", "--api-token", "t", "--read-only"]).unwrap();
        assert!(catalog::TOOLS.iter().all(|t| !s.publishes(t.name)));
    }
}
