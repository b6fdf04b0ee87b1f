//! An invitation speaks for the person who sent it: once they are removed, or demoted below a role
//! that may grant what it offers, the link makes nobody a member, through either way of accepting it.

use statusgate::domain::Role;
use statusgate::service::Principal;

use crate::api_support::{acme, owner};
use crate::both_backends;
use crate::helpers::{TestApp, TestDb};

const PW: &str = "long enough pw";

/// `from` invites `email` into acme as `role`; answers the link's token.
async fn invite_as(app: &TestApp, from: &Principal, email: &str, role: &str) -> String {
    let org = acme(app).await;
    let invited = app.services.invite(from, &org, email, role).await.unwrap();
    invited.link.rsplit('/').next().unwrap().to_owned()
}

async fn admin(app: &TestApp, email: &str) -> Principal {
    let org = app.services.org_by_slug("acme").await.unwrap();
    let user = app
        .services
        .create_user(email, PW, &org, Role::Admin)
        .await
        .unwrap();
    Principal::user(user.id)
}

both_backends!(
    a_removed_admins_invitation_makes_no_admin,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let org = acme(&app).await;
        let owner = Principal::user(owner(&app).await);
        let leaving = admin(&app, "leaving@acme.test").await;
        let token = invite_as(&app, &leaving, "second@acme.test", "admin").await;
        // The owner's own invitation, sent at the same time, is not touched by the removal.
        let kept = invite_as(&app, &owner, "kept@acme.test", "viewer").await;

        app.services
            .remove_member(&owner, &org, &leaving.user_id)
            .await
            .unwrap();

        let path = format!("/invite/{token}");
        let guest = app.new_browser();
        assert_eq!(guest.get(&path).await.status(), 410);
        let (s, _, html) = guest
            .submit("/login", &path, &[("password", PW), ("repeat", PW)])
            .await;
        assert_eq!(s, 410, "{html}");
        assert!(app
            .store
            .user_id_by_email("second@acme.test")
            .await
            .is_err());

        let path = format!("/invite/{kept}");
        let (s, _, html) = app
            .new_browser()
            .submit(&path, &path, &[("password", PW), ("repeat", PW)])
            .await;
        assert_eq!(s, 303, "{html}");
        let user = app.store.user_id_by_email("kept@acme.test").await.unwrap();
        assert_eq!(
            app.store.role_of(&org, &user).await.unwrap(),
            Some(Role::Viewer)
        );
    }
);

both_backends!(
    a_demoted_admins_invitation_is_refused_to_a_signed_in_account_too,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let org = acme(&app).await;
        let owner = Principal::user(owner(&app).await);
        let demoted = admin(&app, "demoted@acme.test").await;
        let token = invite_as(&app, &demoted, "third@other.test", "admin").await;
        // The invited person has an account already, in another organisation.
        let other = app.services.create_org("other", "Other").await.unwrap();
        let third = app
            .services
            .create_user("third@other.test", PW, &other, Role::Owner)
            .await
            .unwrap();

        app.services
            .set_role(&owner, &org, &demoted.user_id, Role::Editor)
            .await
            .unwrap();

        let browser = app.new_browser();
        assert_eq!(browser.sign_in("third@other.test", PW).await.status(), 303);
        let path = format!("/invite/{token}");
        assert_eq!(browser.get(&path).await.status(), 410);
        let (s, _, html) = browser.submit("/account", &path, &[]).await;
        assert_eq!(s, 410, "{html}");
        // The service refuses it as well, whatever page it is reached from.
        let refused = app
            .services
            .accept_as_member(&Principal::user(third.id.clone()), &token)
            .await;
        assert!(refused.is_err());
        assert_eq!(app.store.role_of(&org, &third.id).await.unwrap(), None);

        // Promoted back, the sender vouches for the link again: it was never used up.
        app.services
            .set_role(&owner, &org, &demoted.user_id, Role::Admin)
            .await
            .unwrap();
        let (s, _, html) = browser.submit("/account", &path, &[]).await;
        assert_eq!(s, 303, "{html}");
        assert_eq!(
            app.store.role_of(&org, &third.id).await.unwrap(),
            Some(Role::Admin)
        );
    }
);
