//! Self-hosted updates on a real server process: an admin publishes a release, the
//! updater's question gets the newest newer one (or nothing), and what a hostile or
//! careless caller sends is refused by name.

mod common;

use common::{admin, admin_fails, Backing, Server};

async fn updates(backing: &Backing) {
    let dir = tempfile::tempdir().expect("dir");
    let sig = dir.path().join("Riskdesk_0.3.0_amd64.AppImage.tar.gz.sig");
    std::fs::write(&sig, "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZQ==\n").expect("sig");
    let sig = sig.to_str().expect("path");
    let publish = |version: &str, target: &str| {
        let url = format!("https://downloads.acme.example/riskdesk/{version}/riskdesk.deb");
        let mut args = vec!["release", "add", "--target", target, "--version", version];
        args.extend([
            "--url",
            url.as_str(),
            "--signature-file",
            sig,
            "--notes",
            "Faster triage",
        ]);
        admin(backing, &args)
    };
    assert!(publish("0.2.0", "linux").contains("published 0.2.0 for linux-x86_64"));
    publish("0.3.0", "linux");
    publish("0.9.0", "windows");
    // A careless admin: no such platform, not a version, not a URL.
    for (target, version, url, why) in [
        (
            "beos",
            "1.0.0",
            "https://x.example/a",
            "target 'beos' is not one of",
        ),
        (
            "linux",
            "next",
            "https://x.example/a",
            "'next' is not a version",
        ),
        ("linux", "1.0.0", "file:///etc/passwd", "must be http(s)"),
    ] {
        let args = [
            "release",
            "add",
            "--target",
            target,
            "--version",
            version,
            "--url",
            url,
            "--signature-file",
            sig,
        ];
        let said = admin_fails(backing, &args);
        assert!(said.contains(why), "{args:?}: {said}");
    }
    assert_eq!(admin(backing, &["release", "list"]).lines().count(), 3);

    let server = Server::start(backing);
    let http = reqwest::Client::new();
    let ask = |path: &str| {
        http.get(format!("{}/v1/updates/{path}", server.base))
            .send()
    };
    // An older desktop gets the newest newer release for its platform, signed.
    let r = ask("linux/x86_64/0.1.0").await.expect("ask");
    assert_eq!(r.status(), 200);
    let manifest: serde_json::Value = r.json().await.expect("json");
    assert_eq!(manifest["version"], "0.3.0");
    assert_eq!(
        manifest["url"],
        "https://downloads.acme.example/riskdesk/0.3.0/riskdesk.deb"
    );
    assert_eq!(
        manifest["signature"],
        "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZQ=="
    );
    assert_eq!(manifest["notes"], "Faster triage");
    // Up to date, or a platform with nothing published: nothing to do.
    assert_eq!(ask("linux/x86_64/0.3.0").await.expect("ask").status(), 204);
    assert_eq!(
        ask("darwin/aarch64/0.1.0").await.expect("ask").status(),
        204
    );
    // Hostile questions are refused, not guessed at.
    for bad in [
        "plan9/x86_64/0.1.0",
        "linux/sparc/0.1.0",
        "linux/x86_64/latest",
        "linux/x86_64/..%2F..%2Fetc",
    ] {
        let r = ask(bad).await.expect("ask");
        assert_eq!(r.status(), 400, "{bad}");
    }
}

on_both_backends!(updates);
