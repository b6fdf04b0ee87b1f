//! `statusgate org|page|key|user create`: the operator's commands, run without the server against
//! the configured database. They act as the organisation's owner (or the member named) through the
//! services, so the same rules and audit rows apply as in the admin pages.

use std::io::Read;

use super::{runtime, usage, Failure, KeyCommand, OrgCommand, PageCommand};
use crate::config::Config;
use crate::domain::Role;
use crate::service::{ServiceError, Services};

pub(super) async fn org(config: &Config, command: OrgCommand) -> Result<(), Failure> {
    let OrgCommand::Create { slug, name } = command;
    let services = offline_services(config).await?;
    let org = services
        .create_org(&slug, &name)
        .await
        .map_err(service_failure)?;
    println!("created organisation {} ({})", org.slug, org.name);
    Ok(())
}

pub(super) async fn page(config: &Config, command: PageCommand) -> Result<(), Failure> {
    let PageCommand::Create {
        org,
        name,
        slug,
        public_slug,
    } = command;
    let services = offline_services(config).await?;
    let org = services.org_by_slug(&org).await.map_err(service_failure)?;
    let owner = services
        .org_owner(&org.id)
        .await
        .map_err(|_| usage(format!("{} has no owner yet", org.slug)))?;
    let new = crate::service::page_admin::NewPage {
        name,
        slug,
        public_slug,
        description: String::new(),
        published: true,
    };
    let page = services
        .new_page(&crate::service::Principal::user(owner), &org.id, new)
        .await
        .map_err(service_failure)?;
    println!(
        "created page {} at {}/status/{}",
        page.slug, config.public_url, page.public_slug
    );
    Ok(())
}

pub(super) async fn key(config: &Config, command: KeyCommand) -> Result<(), Failure> {
    let KeyCommand::Create {
        org,
        name,
        scope,
        page,
        expires,
        user,
    } = command;
    let write = match scope.as_str() {
        "read" => false,
        "write" => true,
        _ => return Err(usage("--scope must be read or write")),
    };
    let services = offline_services(config).await?;
    let org = services.org_by_slug(&org).await.map_err(service_failure)?;
    let user = match user {
        Some(email) => services.member_by_email(&org.id, &email).await,
        None => services.org_owner(&org.id).await,
    }
    .map_err(|_| usage(format!("no such member of {}", org.slug)))?;
    let page = match page {
        Some(slug) => Some(
            services
                .page_id_by_slug(&org.id, &slug)
                .await
                .map_err(|_| usage(format!("no page `{slug}` in {}", org.slug)))?,
        ),
        None => None,
    };
    let new = crate::service::api_keys::NewKey {
        name,
        write,
        page,
        expires_in_days: expires,
    };
    let (_, secret) = services
        .create_api_key(&crate::service::Principal::user(user), &org.id, new)
        .await
        .map_err(service_failure)?;
    println!("{secret}");
    Ok(())
}

/// `user create`: `create_org` makes the organisation when it does not exist yet.
pub(super) async fn user(
    config: &Config,
    email: &str,
    org: &str,
    role: &str,
    create_org: bool,
) -> Result<(), Failure> {
    let role = Role::parse(role).map_err(|e| usage(e.to_string()))?;
    let password = read_password()?;
    let services = offline_services(config).await?;
    let org = match services.org_by_slug(org).await {
        Ok(o) => o,
        Err(ServiceError::NotFound(_)) if create_org => services
            .create_org(org, org)
            .await
            .map_err(service_failure)?,
        Err(ServiceError::NotFound(_)) => {
            return Err(usage(format!(
                "no organisation `{org}` (add --create-org to create it)"
            )))
        }
        Err(e) => return Err(service_failure(e)),
    };
    let user = services
        .create_user(email, &password, &org, role)
        .await
        .map_err(service_failure)?;
    println!(
        "created {} as {} of {}",
        user.email,
        role.as_str(),
        org.slug
    );
    Ok(())
}

/// The password on standard input, without its line end.
pub(super) fn read_password() -> Result<String, Failure> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| usage(format!("cannot read password: {e}")))?;
    Ok(password.trim_end_matches(['\n', '\r']).to_owned())
}

/// The services over a migrated database, for commands that run without the server.
pub(super) async fn offline_services(config: &Config) -> Result<Services, Failure> {
    let store = crate::app::connect(config)
        .await
        .map_err(|e| runtime(e.to_string()))?;
    store
        .migrate()
        .await
        .map_err(|e| runtime(format!("migration failed: {e}")))?;
    Ok(Services::new(
        store,
        std::sync::Arc::new(crate::clock::SystemClock),
        config.security.clone(),
    ))
}

pub(super) fn service_failure(e: ServiceError) -> Failure {
    match e {
        ServiceError::Internal(inner) => runtime(format!("internal error: {inner}")),
        other => usage(other.to_string()),
    }
}
