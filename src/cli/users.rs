//! `statusgate user set-password|list`: the operator's way back in for someone who forgot their
//! password (the same rules as `user create`, every session of that person ended, audited as `system`)
//! and the list of who is in an organisation.

use super::create::{offline_services, read_password, service_failure};
use super::{usage, Failure};
use crate::config::Config;
use crate::service::ServiceError;

pub(super) async fn set_password(config: &Config, email: &str) -> Result<(), Failure> {
    let password = read_password()?;
    if password.is_empty() {
        return Err(usage("no password on standard input"));
    }
    let services = offline_services(config).await?;
    let (user, ended) = services
        .set_password_as_operator(email, &password)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => usage(format!("no user with email {}", email.trim())),
            other => service_failure(other),
        })?;
    println!(
        "password set for {}; {ended} browser session(s) ended",
        user.email
    );
    Ok(())
}

pub(super) async fn list(config: &Config, org: &str) -> Result<(), Failure> {
    let services = offline_services(config).await?;
    let org = services.org_by_slug(org).await.map_err(|e| match e {
        ServiceError::NotFound(_) => usage(format!("no organisation `{org}`")),
        other => service_failure(other),
    })?;
    for m in services
        .org_members(&org.id)
        .await
        .map_err(service_failure)?
    {
        println!("{}\t{}", m.email, m.role.as_str());
    }
    Ok(())
}
