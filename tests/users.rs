//! `patrol user`: who may use `patrol serve` from other computers. Their
//! password hashes never leave the database file.

use crate::util::Env;

fn add(env: &Env, name: &str, role: &str, password: &str) -> std::process::Output {
    env.cmd()
        .args(["user", "add", name, "--role", role, "--password-stdin"])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap()
}

#[test]
fn users_are_added_listed_and_removed_and_never_exported() {
    let env = Env::init();
    let ok = add(&env, "Somchai", "manager", "correct horse battery");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for (name, role, password, says) in [
        (
            "Somchai",
            "ranger",
            "another good one",
            "already a user 'Somchai'",
        ),
        ("Nok", "ranger", "short", "at least 10 characters"),
        (
            " Nok",
            "ranger",
            "long enough pass",
            "no leading or trailing spaces",
        ),
    ] {
        let out = add(&env, name, role, password);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{name}: {err}");
    }
    let out = env
        .cmd()
        .args(["user", "add", "Nok", "--role", "admin", "--password-stdin"])
        .write_stdin("long enough pass\n")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (list, _) = env.json(&["user", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Somchai");
    assert_eq!(list[0]["role"], "manager");
    assert!(list[0].get("password_hash").is_none());
    let db = std::fs::read(&env.db).unwrap();
    let has_hash = |bytes: &[u8]| bytes.windows(9).any(|w| w == b"$argon2id");
    assert!(has_hash(&db), "the hash is in the database");
    assert!(
        !db.windows(21).any(|w| w == b"correct horse battery"),
        "never the password"
    );
    // An export carries no hash, not even in its free pages; a merge makes no user.
    let sent = env.path("sent.gpkg");
    env.cmd()
        .args(["export", "--out"])
        .arg(&sent)
        .assert()
        .success();
    assert!(
        !has_hash(&std::fs::read(&sent).unwrap()),
        "a hash travelled in the export"
    );
    let other = Env::init();
    other.cmd().arg("merge").arg(&sent).assert().success();
    assert_eq!(
        other.json(&["user", "list", "--json"]).0,
        serde_json::json!([])
    );
    env.cmd()
        .args(["user", "remove", "Somchai"])
        .assert()
        .success();
    env.cmd()
        .args(["user", "remove", "Somchai"])
        .assert()
        .failure();
    assert_eq!(
        env.json(&["user", "list", "--json"]).0,
        serde_json::json!([])
    );
}
