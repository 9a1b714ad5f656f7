//! Staff sign-in, sessions, CSRF, throttling, jurisdiction and the audit log,
//! driven over HTTP like a browser would.

mod common;

use common::{Agent, account, audit_entries, unix_now};
use crieur_domain::access::Role;
use reqwest::StatusCode;

#[tokio::test]
async fn password_then_totp_then_console_then_sign_out() {
    let app = common::spawn().await;
    let secret = account(&app.store, "mayor.liege", Role::Mayor, "62063", true)
        .await
        .expect("secret");
    let mut a = Agent::new(&app);
    a.get("/login?lang=en").await;
    let csrf = a.csrf();
    let r = a
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "mayor.liege"),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/login/code"));
    // Not signed in yet: the console is out of reach until the code is given.
    let r = a.get("/console").await;
    assert_eq!(r.location.as_deref(), Some("/login"));

    a.get("/login/code").await;
    let csrf = a.csrf();
    let r = a
        .post(
            "/login/code",
            &[("csrf", &csrf), ("code", &secret.code_at(unix_now()))],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/console"), "{}", r.body);
    let r = a.get("/console?lang=en").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("mayor.liege") && r.body.contains("Liège (62063)"),
        "{}",
        r.body
    );

    let csrf = a.csrf();
    let r = a.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.location.as_deref(), Some("/login"));
    assert!(a.cookie.is_none(), "the cookie is cleared");
    let sign_ins = audit_entries(&app.store, "auth.sign_in").await;
    assert_eq!(sign_ins.len(), 1);
    assert_eq!(sign_ins[0].outcome, "success");
    assert_eq!(sign_ins[0].territory.as_deref(), Some("62063"));
    assert_eq!(audit_entries(&app.store, "auth.sign_out").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_wrong_replayed_or_expired_codes_are_refused() {
    let app = common::spawn().await;
    let secret = account(&app.store, "governor.liege", Role::Governor, "60000", true)
        .await
        .expect("secret");
    let mut a = Agent::new(&app);
    a.get("/login?lang=fr").await;
    let csrf = a.csrf();
    let r = a
        .post(
            "/login?lang=fr",
            &[
                ("csrf", &csrf),
                ("username", "governor.liege"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body
            .contains("Nom d’utilisateur ou mot de passe incorrect"),
        "{}",
        r.body
    );
    let r = a
        .post(
            "/login?lang=fr",
            &[
                ("csrf", &csrf),
                ("username", "nobody.here"),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "unknown accounts get the same answer"
    );
    assert!(
        r.body
            .contains("Nom d’utilisateur ou mot de passe incorrect")
    );

    let now = unix_now();
    let expired = secret.code_at(now - 300);
    let r = a.sign_in("governor.liege", Some(expired)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "an expired code");
    let csrf = a.csrf();
    let r = a
        .post(
            "/login/code?lang=en",
            &[("csrf", &csrf), ("code", "12a456")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("wrong or has expired"), "{}", r.body);

    // A code works once; the same code again is a replay.
    let code = secret.code_at(now);
    let csrf = a.csrf();
    let r = a
        .post("/login/code", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(r.location.as_deref(), Some("/console"), "{}", r.body);
    let mut b = Agent::new(&app);
    let r = b.sign_in("governor.liege", Some(code)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body.contains("already") || r.body.contains("déjà"),
        "{}",
        r.body
    );

    let failures: Vec<String> = audit_entries(&app.store, "auth.sign_in")
        .await
        .into_iter()
        .filter(|e| e.outcome == "failure")
        .map(|e| e.detail)
        .collect();
    assert!(
        failures.contains(&"wrong password".to_owned()),
        "{failures:?}"
    );
    assert!(
        failures.contains(&"unknown or disabled account".to_owned()),
        "{failures:?}"
    );
    let codes: Vec<String> = audit_entries(&app.store, "auth.second_factor")
        .await
        .into_iter()
        .map(|e| e.detail)
        .collect();
    assert!(codes.contains(&"replayed code".to_owned()), "{codes:?}");
    assert!(
        codes.contains(&"wrong or expired code".to_owned()),
        "{codes:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let app = common::spawn().await;
    account(
        &app.store,
        "operator",
        Role::HotlineOperator,
        "01000",
        false,
    )
    .await;
    let mut a = Agent::new(&app);
    a.get("/login").await;
    let csrf = a.csrf();
    for _ in 0..5 {
        let r = a
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", "operator"),
                    ("password", "wrong wrong wrong"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = a
        .post(
            "/login?lang=en",
            &[
                ("csrf", &csrf),
                ("username", "operator"),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    assert!(r.body.contains("locked"), "{}", r.body);
    assert_eq!(audit_entries(&app.store, "auth.lockout").await.len(), 1);

    // An operator (no second factor required) signs in with a password alone once unlocked.
    let id = app
        .store
        .accounts()
        .account_by_username("operator")
        .await
        .expect("db")
        .expect("exists")
        .id;
    app.store
        .accounts()
        .clear_sign_in_failures(id)
        .await
        .expect("unlock");
    let r = a.sign_in("operator", None).await;
    assert_eq!(r.location.as_deref(), Some("/console"));
    app.stop().await;
}

#[tokio::test]
async fn missing_or_forged_csrf_tokens_are_refused_and_change_nothing() {
    let app = common::spawn().await;
    let secret = account(&app.store, "admin", Role::Administrator, "01000", true)
        .await
        .expect("secret");
    let mut a = Agent::new(&app);
    a.get("/login").await;
    let r = a
        .post(
            "/login",
            &[("username", "admin"), ("password", common::PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
    let r = a
        .post(
            "/login",
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("username", "admin"),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "forged token");

    let r = a.sign_in("admin", Some(secret.code_at(unix_now()))).await;
    assert_eq!(r.location.as_deref(), Some("/console"));
    a.get("/admin/accounts").await;
    let forged = [
        ("csrf", "f".repeat(64)),
        ("username", "intruder".into()),
        ("display_name", "X".into()),
        ("role", "minister".into()),
        ("territory", "01000".into()),
    ];
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = a.post("/admin/accounts", &forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        app.store
            .accounts()
            .account_by_username("intruder")
            .await
            .expect("db")
            .is_none()
    );
    let r = a.get("/console").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the session survives a refused forgery"
    );
    assert_eq!(
        audit_entries(&app.store, "security.csrf_rejected")
            .await
            .len(),
        3
    );
    app.stop().await;
}

#[tokio::test]
async fn a_token_from_before_sign_in_is_worthless_after_it() {
    let app = common::spawn().await;
    let secret = account(&app.store, "minister", Role::Minister, "01000", true)
        .await
        .expect("secret");
    let mut a = Agent::new(&app);
    a.get("/login").await;
    let planted = a.cookie.clone().expect("a pre-sign-in session");
    let r = a
        .sign_in("minister", Some(secret.code_at(unix_now())))
        .await;
    assert_eq!(r.location.as_deref(), Some("/console"));
    assert_ne!(
        a.cookie.as_deref(),
        Some(planted.as_str()),
        "a new token after sign-in"
    );
    let mut attacker = Agent::new(&app);
    attacker.cookie = Some(planted);
    let r = attacker.get("/console").await;
    assert_eq!(
        r.location.as_deref(),
        Some("/login"),
        "the planted token gives nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn idle_and_old_sessions_end_and_sign_out_everywhere_ends_all() {
    let app = common::spawn().await;
    let secret = account(
        &app.store,
        "supervisor",
        Role::HotlineSupervisor,
        "01000",
        true,
    )
    .await
    .expect("secret");
    let now = unix_now();
    let mut a = Agent::new(&app);
    let mut b = Agent::new(&app);
    assert_eq!(
        a.sign_in("supervisor", Some(secret.code_at(now)))
            .await
            .location
            .as_deref(),
        Some("/console")
    );
    // The next time step: the same code may not be used twice.
    assert_eq!(
        b.sign_in("supervisor", Some(secret.code_at(now + 30)))
            .await
            .location
            .as_deref(),
        Some("/console")
    );
    a.get("/console").await;
    let csrf = a.csrf();
    a.post("/logout/everywhere", &[("csrf", &csrf)]).await;
    assert_eq!(
        b.get("/console").await.location.as_deref(),
        Some("/login"),
        "the other device is signed out"
    );

    // Time passes: idle for 31 minutes.
    account(
        &app.store,
        "operator",
        Role::HotlineOperator,
        "01000",
        false,
    )
    .await;
    let mut c = Agent::new(&app);
    assert_eq!(
        c.sign_in("operator", None).await.location.as_deref(),
        Some("/console")
    );
    let digest = crieur_domain::credentials::token_digest(c.cookie.as_deref().expect("cookie"));
    let mut s = app
        .store
        .sessions()
        .session(&digest)
        .await
        .expect("db")
        .expect("session");
    app.store
        .sessions()
        .delete_session(&digest)
        .await
        .expect("db");
    s.last_seen_at -= 31 * 60;
    s.created_at -= 31 * 60;
    app.store.sessions().create_session(&s).await.expect("db");
    assert_eq!(
        c.get("/console").await.location.as_deref(),
        Some("/login"),
        "idle timeout"
    );

    // Active all along, but signed in 13 hours ago: the absolute limit ends it.
    let mut d = Agent::new(&app);
    assert_eq!(
        d.sign_in("operator", None).await.location.as_deref(),
        Some("/console")
    );
    let digest = crieur_domain::credentials::token_digest(d.cookie.as_deref().expect("cookie"));
    let mut s = app
        .store
        .sessions()
        .session(&digest)
        .await
        .expect("db")
        .expect("session");
    app.store
        .sessions()
        .delete_session(&digest)
        .await
        .expect("db");
    s.created_at -= 13 * 3600;
    app.store.sessions().create_session(&s).await.expect("db");
    assert_eq!(
        d.get("/console").await.location.as_deref(),
        Some("/login"),
        "absolute timeout"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_mayor_of_namur_acting_on_liege_is_refused_and_audited() {
    let app = common::spawn().await;
    let secret = account(&app.store, "mayor.namur", Role::Mayor, "92094", true)
        .await
        .expect("secret");
    let mut a = Agent::new(&app);
    a.sign_in("mayor.namur", Some(secret.code_at(unix_now())))
        .await;
    let r = a.get("/console/territories/92094?lang=fr").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Namur"));
    let r = a.get("/console/territories/62063?lang=nl").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("U mag dit hier niet doen"), "{}", r.body);
    let r = a.get("/console/territories/90000").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not the province either");
    let denied = audit_entries(&app.store, "view_console").await;
    assert_eq!(denied.len(), 2);
    assert!(
        denied
            .iter()
            .all(|e| e.outcome == "denied" && e.actor == "mayor.namur")
    );
    assert!(
        denied
            .iter()
            .any(|e| e.territory.as_deref() == Some("62063"))
    );
    // A mayor is no administrator.
    let r = a.get("/admin/accounts").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn administrators_manage_accounts_within_their_territory_only() {
    let app = common::spawn().await;
    let secret = account(
        &app.store,
        "admin.namur",
        Role::Administrator,
        "90000",
        true,
    )
    .await
    .expect("secret");
    account(&app.store, "mayor.liege", Role::Mayor, "62063", true).await;
    let mut a = Agent::new(&app);
    a.sign_in("admin.namur", Some(secret.code_at(unix_now())))
        .await;
    let r = a.get("/admin/accounts?lang=en").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        !r.body.contains("mayor.liege"),
        "accounts outside the province are not listed"
    );

    let csrf = a.csrf();
    let r = a
        .post(
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", "mayor.dinant"),
                ("display_name", "Mayor of Dinant"),
                ("role", "mayor"),
                ("territory", "91034"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body.contains("id=\"initial-password\""));
    let r = a
        .post(
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", "mayor.liege2"),
                ("display_name", "X"),
                ("role", "mayor"),
                ("territory", "62063"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "Liège is outside the province of Namur"
    );
    assert!(
        app.store
            .accounts()
            .account_by_username("mayor.liege2")
            .await
            .expect("db")
            .is_none()
    );
    let r = a
        .post(
            "/admin/accounts?lang=en",
            &[
                ("csrf", &csrf),
                ("username", "gov"),
                ("display_name", "X"),
                ("role", "governor"),
                ("territory", "92094"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a governor is bound to a province"
    );
    assert!(r.body.contains("cannot be bound"), "{}", r.body);
    let r = a
        .post(
            "/admin/accounts?lang=en",
            &[
                ("csrf", &csrf),
                ("username", "mayor.dinant"),
                ("display_name", "Again"),
                ("role", "mayor"),
                ("territory", "91034"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let liege = app
        .store
        .accounts()
        .account_by_username("mayor.liege")
        .await
        .expect("db")
        .expect("exists");
    let r = a
        .post(
            &format!("/admin/accounts/{}/disable", liege.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        !app.store
            .accounts()
            .account(liege.id)
            .await
            .expect("db")
            .expect("exists")
            .disabled
    );

    let dinant = app
        .store
        .accounts()
        .account_by_username("mayor.dinant")
        .await
        .expect("db")
        .expect("exists");
    let r = a
        .post(
            &format!("/admin/accounts/{}/disable", dinant.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/admin/accounts"));
    assert!(
        app.store
            .accounts()
            .account(dinant.id)
            .await
            .expect("db")
            .expect("exists")
            .disabled
    );
    let creates = audit_entries(&app.store, "account.create").await;
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].target.as_deref(), Some("mayor.dinant"));
    assert_eq!(
        audit_entries(&app.store, "manage_accounts").await.len(),
        2,
        "both refusals audited"
    );
    // The audit log is national.
    assert_eq!(a.get("/admin/audit").await.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn a_new_authority_enrols_a_second_factor_at_first_sign_in() {
    let app = common::spawn().await;
    account(&app.store, "governor.namur", Role::Governor, "90000", false).await;
    let mut a = Agent::new(&app);
    let r = a.sign_in("governor.namur", None).await;
    assert_eq!(r.location.as_deref(), Some("/login/enrol"));
    let page = a.get("/login/enrol?lang=en").await.body;
    assert!(
        page.contains("otpauth://totp/Crieur:governor.namur?"),
        "{page}"
    );
    assert!(page.contains("<svg"), "a QR code drawn by the server");
    let start =
        page.find("id=\"totp-secret\">").expect("secret shown") + "id=\"totp-secret\">".len();
    let secret = &page[start..start + page[start..].find('<').expect("end")];
    let secret =
        crieur_domain::credentials::TotpSecret::from_base32(secret).expect("base32 secret");
    let csrf = a.csrf();
    let r = a
        .post("/login/enrol", &[("csrf", &csrf), ("code", "000000")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = a
        .post(
            "/login/enrol",
            &[("csrf", &csrf), ("code", &secret.code_at(unix_now()))],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/console"), "{}", r.body);
    let stored = app
        .store
        .accounts()
        .account_by_username("governor.namur")
        .await
        .expect("db")
        .expect("exists");
    assert!(stored.totp_secret.is_some() && stored.totp_pending.is_none());
    assert_eq!(
        audit_entries(&app.store, "auth.second_factor_enrolled")
            .await
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_national_administrator_reads_and_exports_the_audit_log() {
    let app = common::spawn().await;
    let secret = account(&app.store, "admin", Role::Administrator, "01000", true)
        .await
        .expect("secret");
    let mut a = Agent::new(&app);
    a.sign_in("admin", Some(secret.code_at(unix_now()))).await;
    let r = a.get("/admin/audit?lang=en").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Chain intact"), "{}", r.body);
    assert!(r.body.contains("auth.sign_in"));
    let r = a.get("/admin/audit.csv").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.starts_with("seq,at,actor,action,outcome"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(",admin,auth.sign_in,success,"),
        "{}",
        r.body
    );
    assert_eq!(
        audit_entries(&app.store, "audit.export").await.len(),
        1,
        "exports are audited"
    );
    app.stop().await;
}
