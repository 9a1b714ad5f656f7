//! The `crieur` command line, run as a user would.

mod common;

use common::{crieur, stderr, stdout};

fn db_in(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("crieur.db").display())
}

#[test]
fn version_and_help() {
    let out = crieur(&["--version"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("crieur "), "{}", stdout(&out));
    let out = crieur(&["territories", "--help"]);
    assert!(stdout(&out).contains("import"));
}

#[test]
fn territories_list_show_and_locate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let out = crieur(&["territories", "list", "--level", "province"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 11, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("21000")),
        "Brussels-Capital at province level"
    );

    let out = crieur(&["--database-url", &db, "territories", "show", "4000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("62063  Liège"), "{text}");
    assert!(text.contains("approximate boundary"), "{text}");

    let out = crieur(&[
        "--database-url",
        &db,
        "territories",
        "locate",
        "5.7158",
        "50.0036",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("province      80000"),
        "{}",
        stdout(&out)
    );

    let out = crieur(&["--database-url", &db, "territories", "show", "99999"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no territory matches"),
        "{}",
        stderr(&out)
    );
    let out = crieur(&["territories", "list", "--level", "canton"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown level"), "{}", stderr(&out));
}

#[test]
fn boundary_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let file = dir.path().join("limits.geojson");
    let good = r#"{"type":"Feature","properties":{"CD_MUNTY_REFNIS":"62063"},"geometry":{"type":"Polygon","coordinates":[[[5.5,50.58],[5.65,50.58],[5.65,50.7],[5.5,50.7],[5.5,50.58]]]}}"#;
    let unknown = r#"{"type":"Feature","properties":{"CD_MUNTY_REFNIS":"99999"},"geometry":{"type":"Polygon","coordinates":[[[5.5,50.58],[5.65,50.58],[5.65,50.7],[5.5,50.7],[5.5,50.58]]]}}"#;
    std::fs::write(
        &file,
        format!(r#"{{"type":"FeatureCollection","features":[{good},{unknown}]}}"#),
    )
    .expect("write");
    let out = crieur(&[
        "--database-url",
        &db,
        "territories",
        "import",
        file.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("limits.geojson") && err.contains("feature 2") && err.contains("99999"),
        "{err}"
    );
    assert!(err.contains("Nothing was stored"), "{err}");
    let out = crieur(&["--database-url", &db, "territories", "show", "62063"]);
    assert!(
        stdout(&out).contains("approximate boundary"),
        "the good feature was not stored either"
    );

    std::fs::write(
        &file,
        "{\"type\":\"FeatureCollection\",\n\"features\": [ oops ]}",
    )
    .expect("write");
    let out = crieur(&[
        "--database-url",
        &db,
        "territories",
        "import",
        file.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));

    std::fs::write(
        &file,
        format!(r#"{{"type":"FeatureCollection","features":[{good}]}}"#),
    )
    .expect("write");
    let out = crieur(&[
        "--database-url",
        &db,
        "territories",
        "import",
        file.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Stored 1 official boundary"),
        "{}",
        stdout(&out)
    );
    let out = crieur(&["--database-url", &db, "territories", "show", "62063"]);
    assert!(
        stdout(&out).contains("official boundary"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn address_import_reports_each_bad_line_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let file = dir.path().join("addresses.csv");
    std::fs::write(
        &file,
        "streetname_fr;house_number;postcode;municipality_id;EPSG:4326_lon;EPSG:4326_lat\n\
         Rue Léopold;1;4000;62063;5.5736;50.6452\n\
         Rue Léopold;;4000;62063;5.5736;50.6452\n\
         Rue de Fer;3;5000;62063;4.86;50.46\n\
         Rue Inconnue;4;4000;62063;abc;50.64\n\
         Grand-Place;5;0999;62063;5.57;50.64\n",
    )
    .expect("write");
    let path = file.to_str().expect("path");
    let out = crieur(&["--database-url", &db, "addresses", "import", path]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for expected in [
        "line 3: no house number",
        "line 4: postal code 5000 does not serve municipality 62063",
        "line 5: longitude \"abc\" is not a number",
        "line 6: unknown Belgian postal code \"0999\"",
        "nothing was stored",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let out = crieur(&["--database-url", &db, "addresses", "status"]);
    assert!(
        stdout(&out).starts_with("0 address(es)"),
        "{}",
        stdout(&out)
    );

    let out = crieur(&[
        "--database-url",
        &db,
        "addresses",
        "import",
        "--skip-invalid",
        path,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 address(es) stored (1 new, 0 updated), 4 line(s) skipped"),
        "{}",
        stdout(&out)
    );
    let out = crieur(&[
        "--database-url",
        &db,
        "addresses",
        "lookup",
        "4000",
        "rue leopold",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("62063"));

    let missing = dir.path().join("nocolumns.csv");
    std::fs::write(&missing, "street,number\nRue,1\n").expect("write");
    let out = crieur(&[
        "--database-url",
        &db,
        "addresses",
        "import",
        missing.to_str().expect("path"),
    ]);
    assert!(stderr(&out).contains("missing column"), "{}", stderr(&out));
}

#[test]
fn configuration_errors_name_the_key_or_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("crieur.toml");
    std::fs::write(&file, "[web]\nlisten = \"nowhere\"\n").expect("write");
    let out = crieur(&["--config", file.to_str().expect("path"), "migrate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("web.listen"), "{}", stderr(&out));

    // No server answers on port 1: the error says so without the password.
    let out = crieur(&[
        "--database-url",
        "postgres://crieur:secret@127.0.0.1:1/crieur",
        "migrate",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("database error"), "{err}");
    assert!(!err.contains("secret"), "the password leaked: {err}");
    let out = crieur(&[
        "--database-url",
        "mysql://crieur@127.0.0.1/crieur",
        "migrate",
    ]);
    assert!(stderr(&out).contains("expected sqlite://FILE or postgres://"));

    let out = crieur(&["--database-url", &db_in(&dir), "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("crieur.db").exists());
}

#[test]
fn accounts_from_the_command_line_are_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let out = crieur(&[
        "--database-url",
        &db,
        "accounts",
        "add",
        "mayor.liege",
        "--role",
        "mayor",
        "--territory",
        "62063",
        "--name",
        "Mayor of Liège",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Initial password (shown once): "),
        "{}",
        stdout(&out)
    );
    let out = crieur(&[
        "--database-url",
        &db,
        "accounts",
        "add",
        "gov",
        "--role",
        "governor",
        "--territory",
        "62063",
        "--name",
        "X",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("must be bound to a province"),
        "{}",
        stderr(&out)
    );
    let out = crieur(&[
        "--database-url",
        &db,
        "accounts",
        "add",
        "Bad Name",
        "--role",
        "mayor",
        "--territory",
        "62063",
        "--name",
        "X",
    ]);
    assert!(
        stderr(&out).contains("a username has 3 to 64"),
        "{}",
        stderr(&out)
    );
    for args in [
        ["accounts", "disable", "mayor.liege"],
        ["accounts", "enable", "mayor.liege"],
        ["accounts", "reset-2fa", "mayor.liege"],
    ] {
        let mut full = vec!["--database-url", db.as_str()];
        full.extend(args);
        let out = crieur(&full);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let out = crieur(&["--database-url", &db, "accounts", "list"]);
    assert!(stdout(&out).contains("mayor.liege") && stdout(&out).contains("62063"));
    let out = crieur(&["--database-url", &db, "audit", "list"]);
    let text = stdout(&out);
    for action in [
        "account.create",
        "account.disable",
        "account.enable",
        "account.reset_second_factor",
    ] {
        assert!(text.contains(action), "{action} missing from:\n{text}");
    }
    assert!(
        text.contains("cli:"),
        "the actor names the command line: {text}"
    );
}

#[tokio::test]
async fn audit_verify_names_the_first_edited_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    for name in ["a.one", "a.two", "a.three"] {
        let out = crieur(&[
            "--database-url",
            &db,
            "accounts",
            "add",
            name,
            "--role",
            "hotline_operator",
            "--territory",
            "01000",
            "--name",
            name,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = crieur(&["--database-url", &db, "audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3 entries verified"),
        "{}",
        stdout(&out)
    );

    // Someone with database access rewrites history: the triggers refuse a plain
    // UPDATE, so they drop them first.
    let pool = sqlx::SqlitePool::connect(&db).await.expect("open");
    let refused = sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
        .execute(&pool)
        .await;
    assert!(refused.is_err(), "the audit log refuses edits");
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .expect("drop trigger");
    sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
        .execute(&pool)
        .await
        .expect("edit");
    pool.close().await;

    let out = crieur(&["--database-url", &db, "audit", "verify"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("audit entry 2: its content was changed"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_municipality_imports_its_register_with_a_line_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let registry = dir.path().join("registry.csv");
    std::fs::write(
        &registry,
        "streetname_fr,house_number,postcode,municipality_id,EPSG:4326_lon,EPSG:4326_lat\n\
         Rue de Fer,10,5000,92094,4.8652,50.4636\nRue de Fer,12,5000,92094,4.8653,50.4637\n",
    )
    .expect("write");
    let out = crieur(&[
        "--database-url",
        &db,
        "addresses",
        "import",
        registry.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let file = dir.path().join("namur.csv");
    let header = "language,phone_1,email_1,address_1_label,address_1_street,address_1_number,address_1_postcode,general_interest,verified_on\n";
    std::fs::write(
        &file,
        format!(
            "{header}\
             fr,0470 11 22 33,,home,Rue de Fer,10,5000,yes,2025-03-01\n\
             nl,0900 12 345,,home,Rue de Fer,10,5000,no,\n\
             fr,,a@example.be,home,Rue Inconnue,1,5000,no,\n\
             fr,0470 11 22 33,,work,Rue de Fer,12,5000,no,\n\
             de,,b@example.be,home,Rue de Fer,12,5000,no,01/02/2025\n\
             en,,c@example.be,home,Rue de Fer,12,5000,no,\n"
        ),
    )
    .expect("write");
    let path = file.to_str().expect("path");
    let out = crieur(&[
        "--database-url",
        &db,
        "citizens",
        "import",
        path,
        "--source",
        "Ville de Namur",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for expected in [
        "line 3: phones.0.number: Premium-rate",
        "line 4: addresses.0.street: We could not find this address",
        "line 5: +32470112233 already appears on line 2",
        "line 6: verified_on \"01/02/2025\" is not a date",
        "4 line(s) refused; nothing was stored",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }

    let out = crieur(&[
        "--database-url",
        &db,
        "citizens",
        "import",
        path,
        "--source",
        "Ville de Namur",
        "--skip-invalid",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 citizen(s) imported (1 with contacts verified by the previous system, 1 to be verified), 4 line(s) skipped"),
        "{}",
        stdout(&out)
    );
    let out = crieur(&["--database-url", &db, "audit", "list"]);
    assert!(stdout(&out).contains("citizens.import"), "{}", stdout(&out));

    let pool = sqlx::SqlitePool::connect(&db).await.expect("open");
    let proof: Option<String> =
        sqlx::query_scalar("SELECT verified_by FROM citizen_contacts WHERE value = '+32470112233'")
            .fetch_one(&pool)
            .await
            .expect("imported phone");
    assert_eq!(proof.as_deref(), Some("import:Ville de Namur:2025-03-01"));
    let unverified: Option<String> =
        sqlx::query_scalar("SELECT verified_at FROM citizen_contacts WHERE value = 'c@example.be'")
            .fetch_one(&pool)
            .await
            .expect("imported e-mail");
    assert!(
        unverified.is_none(),
        "without proof, a contact must still be verified"
    );
    pool.close().await;
}

#[test]
fn a_synthetic_population_imports_and_cap_files_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("population.csv");
    let csv = csv.to_str().expect("utf-8 path");
    let out = common::crieur(&[
        "population",
        "generate",
        "--subscribers",
        "40",
        "--seed",
        "7",
        "--verified-on",
        "2025-01-01",
        "--out",
        csv,
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = std::fs::read_to_string(csv).expect("csv");
    assert_eq!(text.lines().count(), 41, "a header and 40 people");
    // The same seed, the same people.
    let again = common::crieur(&[
        "population",
        "generate",
        "--subscribers",
        "40",
        "--seed",
        "7",
        "--verified-on",
        "2025-01-01",
    ]);
    assert_eq!(common::stdout(&again), text);
    let db = db_in(&dir);
    let out = common::crieur(&[
        "--database-url",
        &db,
        "citizens",
        "import",
        csv,
        "--source",
        "synthetic",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("40 citizen(s) imported (40 with contacts verified"),
        "{}",
        common::stdout(&out)
    );

    let xxe = dir.path().join("xxe.xml");
    std::fs::write(
        &xxe,
        r#"<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&x;</alert>"#,
    )
    .expect("write");
    let out = common::crieur(&["cap", "validate", xxe.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("DOCTYPE"),
        "{}",
        common::stderr(&out)
    );
    let bad = dir.path().join("bad.xml");
    std::fs::write(
        &bad,
        r#"<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>a</identifier><sender>b</sender><sent>2026-11-29T10:00:00Z</sent><status>Real</status><msgType>Alert</msgType><scope>Public</scope></alert>"#,
    )
    .expect("write");
    let out = common::crieur(&["cap", "validate", bad.to_str().expect("path")]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(
        err.contains("alert/sent") && err.contains("alert/status") && err.contains("2 problem(s)"),
        "{err}"
    );
}
