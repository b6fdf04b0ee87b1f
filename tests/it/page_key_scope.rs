//! A key limited to one page acts on that page only: it cannot create pages in its organisation, even
//! for an owner; an organisation-wide key of the same person can.

use serde_json::json;

use crate::api_support::{acme, error_code, key_for, owner, post_as, spawn};
use crate::both_backends;
use crate::helpers::TestDb;

async fn page_count(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from pages")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

both_backends!(
    a_page_scoped_key_cannot_create_pages,
    |db: TestDb| async move {
        let app = spawn(db).await;
        let (user, org) = (owner(&app).await, acme(&app).await);
        let page = app.services.page_id_by_slug(&org, "api").await.unwrap();
        let scoped = key_for(&app, &user, &org, true, Some(page.clone())).await;
        let before = page_count(&app).await;

        let body = json!({ "name": "Shadow", "slug": "shadow", "published": true });
        let (s, answer) = post_as(&app, &scoped, "/pages", Some(body.clone())).await;
        assert_eq!(error_code(s, &answer), "forbidden", "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("limited to one page"),
            "{answer}"
        );
        assert_eq!(page_count(&app).await, before, "nothing was created");
        let public = reqwest::get(format!("{}/status/shadow", app.base))
            .await
            .unwrap();
        assert_eq!(public.status().as_u16(), 404);

        // Its own page it still manages.
        let (s, answer) = crate::api_support::json(
            &app,
            &scoped,
            reqwest::Method::PATCH,
            &format!("/pages/{page}"),
            Some(json!({ "description": "Still mine" })),
        )
        .await;
        assert_eq!(s, 200, "{answer}");

        // The same person's organisation-wide key creates the page.
        let wide = key_for(&app, &user, &org, true, None).await;
        let (s, answer) = post_as(&app, &wide, "/pages", Some(body)).await;
        assert_eq!(s, 201, "{answer}");
        assert_eq!(page_count(&app).await, before + 1);
    }
);
