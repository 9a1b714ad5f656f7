//! Text-to-speech against the real espeak-ng: every language speaks, prompts are
//! rendered once however many callers ask, and hostile text is only ever spoken.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crieur_telephony::tts::{
    Prompt, SAMPLE_RATE, Tts, TtsConfig, TtsError, concat, confirm_prompt, silence,
};

const ALERTS: [(&str, &str); 4] = [
    (
        "nl",
        "Grote brand in de industriezone. Sluit ramen en deuren en blijf binnen.",
    ),
    (
        "fr",
        "Incendie important dans la zone industrielle. Fermez portes et fenêtres, restez à l'intérieur.",
    ),
    (
        "de",
        "Großbrand im Industriegebiet. Schließen Sie Fenster und Türen und bleiben Sie drinnen.",
    ),
    (
        "en",
        "Large fire in the industrial zone. Close doors and windows and stay inside.",
    ),
];

fn espeak() -> Option<PathBuf> {
    crieur_testkit::peer(
        "espeak-ng",
        &["/usr/bin/espeak-ng", "espeak-ng"],
        "apt-get install -y espeak-ng",
    )
}

fn tts_with(edit: impl FnOnce(&mut TtsConfig)) -> Option<Tts> {
    let binary = espeak()?;
    let mut config = TtsConfig {
        binary,
        ..TtsConfig::default()
    };
    edit(&mut config);
    Some(Tts::new(config).unwrap())
}

fn rms(p: &Prompt) -> f64 {
    let s = p.samples();
    (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
}

fn assert_speech(p: &Prompt, what: &str) {
    assert_eq!(p.sample_rate(), SAMPLE_RATE);
    let d = p.duration();
    assert!(
        (Duration::from_secs(1)..Duration::from_secs(15)).contains(&d),
        "{what}: implausible duration {d:?}"
    );
    let level = rms(p);
    assert!(level > 300.0, "{what}: nearly silent (RMS {level:.0})");
}

#[tokio::test]
async fn speaks_each_language_at_8_khz() {
    let Some(tts) = tts_with(|_| {}) else { return };
    for (language, text) in ALERTS {
        let started = Instant::now();
        let prompt = tts.render(language, text).await.unwrap();
        eprintln!(
            "{language}: {} words → {:?} of audio in {:?}, RMS {:.0}",
            text.split_whitespace().count(),
            prompt.duration(),
            started.elapsed(),
            rms(&prompt)
        );
        assert_speech(&prompt, language);
        let confirm = tts
            .render(language, confirm_prompt(language).unwrap())
            .await
            .unwrap();
        assert_speech(&confirm, "confirm");
    }
    assert_eq!(tts.renders(), 8);
}

#[tokio::test]
async fn a_voice_alert_is_message_pause_message_question() {
    let Some(tts) = tts_with(|_| {}) else { return };
    let message = tts.render("fr", ALERTS[1].1).await.unwrap();
    let question = tts
        .render("fr-BE", confirm_prompt("fr").unwrap())
        .await
        .unwrap();
    let alert = concat(&[
        message.clone(),
        silence(1000),
        message.clone(),
        silence(700),
        question.clone(),
    ]);
    assert_eq!(
        alert.len(),
        2 * message.len() + question.len() + 8000 + 5600
    );
    let frames = alert.frames_20ms().count();
    assert_eq!(frames, alert.len().div_ceil(160));
}

#[tokio::test]
async fn the_same_prompt_twice_runs_espeak_once() {
    let Some(tts) = tts_with(|_| {}) else { return };
    let first = tts.render("nl", ALERTS[0].1).await.unwrap();
    let started = Instant::now();
    let second = tts.render("nl", ALERTS[0].1).await.unwrap();
    let hit = started.elapsed();
    assert_eq!(first, second);
    let stats = tts.stats();
    assert_eq!((stats.renders, stats.memory_hits), (1, 1));
    assert_eq!(
        (stats.cached_prompts, stats.cached_samples),
        (1, first.len())
    );
    assert!(hit < Duration::from_millis(50), "cache hit took {hit:?}");
    // Another language or text is another prompt.
    tts.render("en", ALERTS[0].1).await.unwrap();
    assert_eq!(tts.renders(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_render() {
    let Some(tts) = tts_with(|_| {}) else { return };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let tts = tts.clone();
        tasks.spawn(async move {
            tts.render(
                "de",
                "Achtung, Hochwasser an der Weser. Bitte meiden Sie das Ufer.",
            )
            .await
        });
    }
    let prompts: Vec<Prompt> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tts.renders(), 1);
    assert!(prompts.windows(2).all(|w| w[0] == w[1]));
    assert_speech(&prompts[0], "shared");
}

#[tokio::test]
async fn the_disk_cache_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = Some(dir.path().join("prompts"));
    let Some(before) = tts_with(|c| c.cache_dir = cache_dir.clone()) else {
        return;
    };
    let rendered = before.render("en", ALERTS[3].1).await.unwrap();
    assert_eq!(before.renders(), 1);
    drop(before);
    let after = tts_with(|c| c.cache_dir = cache_dir.clone()).unwrap();
    let loaded = after.render("en", ALERTS[3].1).await.unwrap();
    assert_eq!(loaded, rendered);
    let stats = after.stats();
    assert_eq!((stats.renders, stats.disk_hits), (0, 1));
    // A different speed is a different rendering.
    let faster = tts_with(|c| {
        c.cache_dir = cache_dir.clone();
        c.speed_wpm = 190;
    })
    .unwrap();
    let quick = faster.render("en", ALERTS[3].1).await.unwrap();
    assert_eq!(faster.renders(), 1);
    assert!(quick.len() < rendered.len());
}

#[tokio::test]
async fn hostile_text_is_only_spoken() {
    let Some(tts) = tts_with(|_| {}) else { return };
    let dir = tempfile::tempdir().unwrap();
    let witness = dir.path().join("pwned");
    let w = witness.display();
    let texts = [
        format!("-rf ; rm -rf / $(touch {w}) `touch {w}` && touch {w} | touch {w}"),
        "--help".to_owned(),
        format!("-w {w}.wav --stdout -f /etc/passwd"),
        format!("<speak><audio src=\"file://{w}\"/>Hello</speak> [[h@'loU]]"),
        "Line one\nline two\0\u{1b}[2J".to_owned(),
    ];
    for text in &texts {
        let prompt = tts.render("en", text).await.unwrap();
        assert!(!prompt.is_empty(), "{text:?}");
        assert!(rms(&prompt) > 300.0, "{text:?}");
    }
    assert!(!witness.exists(), "a shell ran the text");
    assert!(
        !witness.with_extension("wav").exists(),
        "the text became options"
    );
    assert_eq!(tts.renders(), texts.len() as u64);
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let Some(tts) = tts_with(|c| c.max_text_chars = 200) else {
        return;
    };
    assert_eq!(
        tts.render("it", "Ciao").await,
        Err(TtsError::UnsupportedLanguage("it".into()))
    );
    let long = "é".repeat(201);
    assert_eq!(
        tts.render("fr", &long).await,
        Err(TtsError::TooLong {
            chars: 201,
            max: 200
        })
    );
    assert!(
        tts.render("fr", &long[..400]).await.is_ok(),
        "200 characters fit"
    );
    assert_eq!(tts.render("nl", " \n ").await, Err(TtsError::Empty));
    assert_eq!(tts.renders(), 1);
}

#[tokio::test]
async fn output_beyond_the_cap_stops_espeak() {
    let Some(tts) = tts_with(|c| c.max_output_bytes = 20_000) else {
        return;
    };
    let started = Instant::now();
    let err = tts.render("en", ALERTS[3].1).await.unwrap_err();
    assert!(
        matches!(&err, TtsError::Failed(m) if m.contains("exceeds 20000 bytes")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Failures are not cached: the next request tries again.
    let _ = tts.render("en", ALERTS[3].1).await;
    assert_eq!(tts.renders(), 2);
}

#[tokio::test]
async fn a_missing_voice_is_reported_with_espeaks_words() {
    let Some(tts) = tts_with(|c| {
        c.voices.insert("xx".into(), "zz".into());
    }) else {
        return;
    };
    let err = tts.render("xx", "Hello").await.unwrap_err();
    assert!(
        matches!(&err, TtsError::Failed(m) if m.contains("voice zz") && m.contains("does not exist")),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_binary_is_not_installed() {
    let tts = Tts::new(TtsConfig {
        binary: "/nonexistent/espeak-ng".into(),
        ..TtsConfig::default()
    })
    .unwrap();
    let err = tts.render("nl", "Hallo").await.unwrap_err();
    assert_eq!(
        err,
        TtsError::NotInstalled {
            binary: "/nonexistent/espeak-ng".into()
        }
    );
    assert!(err.to_string().contains("apt-get install -y espeak-ng"));
}

/// A stand-in that never answers: the only way to see the timeout fire.
#[cfg(unix)]
#[tokio::test]
async fn a_hung_renderer_is_killed_after_the_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let hang = dir.path().join("hang");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tts = Tts::new(TtsConfig {
        binary: hang,
        timeout: Duration::from_millis(300),
        ..TtsConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let err = tts.render("en", "Hello").await.unwrap_err();
    assert_eq!(err, TtsError::TimedOut(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(3));
}
