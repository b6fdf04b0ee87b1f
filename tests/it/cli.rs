//! The `statusgate` binary: user creation, migration and its refusals.

use std::io::Write;
use std::process::{Command, Stdio};

pub(crate) fn statusgate(db_url: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_statusgate"))
        .args(args)
        .env("STATUSGATE_DATABASE_URL", db_url)
        .env("STATUSGATE_DEMO", "false")
        .env("STATUSGATE_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn statusgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn user_create_makes_a_member_who_can_sign_in_later() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db", dir.path().display());
    let (code, out, _) = statusgate(&url, &["migrate"], "");
    assert_eq!(code, 0);
    let count = std::fs::read_dir("migrations/sqlite").unwrap().count();
    assert!(out.contains(&format!("applied {count} migration")), "{out}");

    let args = [
        "user",
        "create",
        "--email",
        "ops@globex.test",
        "--password-stdin",
        "--org",
        "globex",
        "--role",
        "editor",
    ];
    let (code, _, err) = statusgate(&url, &args, "long enough pw\n");
    assert_eq!(code, 2);
    assert!(
        err.contains("--create-org") && err.lines().count() == 1,
        "{err}"
    );

    let mut with_create = args.to_vec();
    with_create.push("--create-org");
    let (code, out, err) = statusgate(&url, &with_create, "long enough pw\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created ops@globex.test as editor of globex"));

    let (code, _, err) = statusgate(&url, &with_create, "long enough pw\n");
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db", dir.path().display());
    let base = ["user", "create", "--password-stdin", "--create-org"];
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["--org", "acme", "--email", "ops@x.test", "--role", "root"],
            "long enough pw",
            "role",
        ),
        (
            &[
                "--org",
                "acme",
                "--email",
                "not-an-email",
                "--role",
                "viewer",
            ],
            "long enough pw",
            "email",
        ),
        (
            &["--org", "acme", "--email", "ops@x.test", "--role", "viewer"],
            "short",
            "password",
        ),
        (
            &[
                "--org",
                "Bad Slug",
                "--email",
                "ops@x.test",
                "--role",
                "viewer",
            ],
            "long enough pw",
            "org",
        ),
        (
            &["--org", "acme", "--role", "viewer"],
            "long enough pw",
            "--email",
        ),
        (
            &[
                "--org",
                "acme",
                "--email",
                "ops@x.test",
                "--role",
                "viewer",
                "--bogus",
            ],
            "long enough pw",
            "--bogus",
        ),
    ];
    for (extra, pw, word) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, _, err) = statusgate(&url, &args, pw);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(word), "{word}: {err}");
    }
}

#[test]
fn a_bad_configuration_value_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_statusgate"))
        .arg("migrate")
        .env("STATUSGATE_DATABASE_URL", &url)
        .env("STATUSGATE_PUBLIC_URL", "status.example.com")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(
        err.contains("public_url") && err.trim().lines().count() == 1,
        "{err}"
    );

    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "bind = 3\n").unwrap();
    let (code, _, err) = statusgate(&url, &["serve", "--config", cfg.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("line 1"), "{err}");
    let (code, _, err) = statusgate(
        &url,
        &["serve", "--config", "/nonexistent/statusgate.toml"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn key_create_prints_the_key_once_and_refuses_bad_input() {
    // Arrange: an organisation with an owner.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db", dir.path().display());
    let owner = [
        "user",
        "create",
        "--email",
        "owner@initech.test",
        "--password-stdin",
        "--org",
        "initech",
        "--role",
        "owner",
        "--create-org",
    ];
    let (code, _, err) = statusgate(&url, &owner, "long enough pw\n");
    assert_eq!(code, 0, "{err}");

    // Act
    let args = [
        "key",
        "create",
        "--org",
        "initech",
        "--name",
        "deploys",
        "--scope",
        "write",
        "--expires",
        "30",
    ];
    let (code, out, err) = statusgate(&url, &args, "");

    // Assert: one line, the key itself.
    assert_eq!(code, 0, "{err}");
    let key = out.trim();
    assert!(key.starts_with("sg_") && key.len() >= 46, "{out}");
    assert_eq!(out.lines().count(), 1);

    let refusals: [(&[&str], &str); 4] = [
        (
            &[
                "key", "create", "--org", "initech", "--name", "x", "--scope", "admin",
            ],
            "read or write",
        ),
        (
            &[
                "key", "create", "--org", "nope", "--name", "x", "--scope", "read",
            ],
            "not found",
        ),
        (
            &[
                "key", "create", "--org", "initech", "--name", "x", "--scope", "read", "--page",
                "nope",
            ],
            "no page",
        ),
        (
            &[
                "key",
                "create",
                "--org",
                "initech",
                "--name",
                "x",
                "--scope",
                "read",
                "--expires",
                "0",
            ],
            "expires",
        ),
    ];
    for (args, needle) in refusals {
        let (code, out, err) = statusgate(&url, args, "");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty() && err.lines().count() == 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
