//! Text-to-speech prompts for calls: espeak-ng renders nl, fr, de and en text to 8 kHz
//! 16-bit linear PCM, once per (language, voice, speed, text), shared by concurrent
//! callers and cached in memory and optionally on disk. Encoding to G.711 is the media
//! layer's job. It runs espeak-ng locally (offline) and never hands text to a shell.

mod cache;
mod espeak;
mod phrases;
mod prompt;
mod resample;
mod wav;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::Semaphore;

use cache::{DiskCache, Lookup, MemoryCache};
use espeak::Invocation;

pub use phrases::{
    CONFIRM_DE, CONFIRM_EN, CONFIRM_FR, CONFIRM_NL, CONFIRMED_DE, CONFIRMED_EN, CONFIRMED_FR,
    CONFIRMED_NL, confirm_prompt, confirmed_prompt,
};
pub use prompt::{FRAME_SAMPLES, Prompt, SAMPLE_RATE, concat, silence};

/// espeak-ng's accepted speeds, in words per minute.
const SPEEDS: std::ops::RangeInclusive<u16> = 80..=450;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TtsError {
    #[error("espeak-ng is not installed at {binary} (Debian: apt-get install -y espeak-ng)")]
    NotInstalled { binary: String },
    #[error("no voice for language {0:?}")]
    UnsupportedLanguage(String),
    #[error("text of {chars} characters is longer than the {max} allowed")]
    TooLong { chars: usize, max: usize },
    #[error("nothing to say: the text is empty")]
    Empty,
    #[error("espeak-ng took longer than {0:?} and was stopped")]
    TimedOut(Duration),
    #[error("text-to-speech failed: {0}")]
    Failed(String),
    #[error("invalid text-to-speech configuration: {0}")]
    InvalidConfig(String),
}

/// How prompts are rendered and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtsConfig {
    /// espeak-ng's executable: a path, or a name looked up in `PATH`.
    pub binary: PathBuf,
    /// Where rendered prompts survive a restart; `None` keeps them in memory only.
    /// Files are never deleted here (16 KB per second of audio): prune them with the
    /// incidents they belong to.
    pub cache_dir: Option<PathBuf>,
    /// Words per minute. 150 is slower than espeak-ng's 175: crisis instructions must
    /// be understood the first time.
    pub speed_wpm: u16,
    /// Language code (lower case) → espeak-ng voice.
    pub voices: BTreeMap<String, String>,
    /// espeak-ng is killed after this long.
    pub timeout: Duration,
    /// Longest text accepted, in characters.
    pub max_text_chars: usize,
    /// Largest WAV espeak-ng may write (22,050 Hz 16-bit: about 44 KB a second).
    pub max_output_bytes: usize,
    /// Memory cache bound, in 8 kHz samples (2 bytes each).
    pub max_cached_samples: usize,
    /// espeak-ng processes running at once.
    pub max_concurrent_renders: usize,
}

impl Default for TtsConfig {
    fn default() -> Self {
        let voices = [("nl", "nl"), ("fr", "fr-be"), ("de", "de"), ("en", "en-gb")]
            .into_iter()
            .map(|(l, v)| (l.to_owned(), v.to_owned()))
            .collect();
        TtsConfig {
            binary: PathBuf::from("espeak-ng"),
            cache_dir: None,
            speed_wpm: 150,
            voices,
            timeout: Duration::from_secs(30),
            max_text_chars: 4000,
            // About 12 minutes of speech; 4,000 characters take about 5.
            max_output_bytes: 32 << 20,
            // One hour of audio, 57.6 MB.
            max_cached_samples: 3600 * SAMPLE_RATE as usize,
            max_concurrent_renders: 2,
        }
    }
}

/// Counters for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TtsStats {
    /// Times espeak-ng was started.
    pub renders: u64,
    pub memory_hits: u64,
    pub disk_hits: u64,
    /// Prompts held in memory and their samples.
    pub cached_prompts: usize,
    pub cached_samples: usize,
}

/// The prompt renderer; clones share the caches.
#[derive(Debug, Clone)]
pub struct Tts {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: TtsConfig,
    memory: MemoryCache,
    disk: Option<DiskCache>,
    permits: Semaphore,
    renders: AtomicU64,
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
}

impl Tts {
    pub fn new(config: TtsConfig) -> Result<Self, TtsError> {
        validate(&config)?;
        let disk = config.cache_dir.clone().map(DiskCache::new);
        Ok(Tts {
            inner: Arc::new(Inner {
                memory: MemoryCache::new(config.max_cached_samples),
                permits: Semaphore::new(config.max_concurrent_renders),
                disk,
                config,
                renders: AtomicU64::new(0),
                memory_hits: AtomicU64::new(0),
                disk_hits: AtomicU64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &TtsConfig {
        &self.inner.config
    }

    /// Whether a voice is configured for `language` (`fr`, `fr-BE`, `nl_BE`…).
    pub fn supports(&self, language: &str) -> bool {
        self.voice_for(language).is_ok()
    }

    /// Speaks `text` in `language`, from the caches when it was rendered before.
    /// Concurrent requests for the same prompt share one espeak-ng run.
    pub async fn render(&self, language: &str, text: &str) -> Result<Prompt, TtsError> {
        let (language, voice) = self.voice_for(language)?;
        let config = &self.inner.config;
        let chars = text.chars().count();
        if chars > config.max_text_chars {
            return Err(TtsError::TooLong {
                chars,
                max: config.max_text_chars,
            });
        }
        if text.trim().is_empty() {
            return Err(TtsError::Empty);
        }
        let key = cache::key(language, voice, config.speed_wpm, text);
        let slot = match self.inner.memory.lookup(&key) {
            Lookup::Hit(prompt) => {
                self.inner.memory_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(prompt);
            }
            Lookup::Pending(slot) => slot,
        };
        let outcome = slot
            .get_or_init(|| self.load_or_synthesize(&key, language, voice, text))
            .await
            .clone();
        self.inner.memory.settle(&key, &slot, &outcome);
        outcome
    }

    /// Times espeak-ng was started since this renderer was built.
    pub fn renders(&self) -> u64 {
        self.inner.renders.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> TtsStats {
        let (cached_prompts, cached_samples) = self.inner.memory.usage();
        TtsStats {
            renders: self.renders(),
            memory_hits: self.inner.memory_hits.load(Ordering::Relaxed),
            disk_hits: self.inner.disk_hits.load(Ordering::Relaxed),
            cached_prompts,
            cached_samples,
        }
    }

    fn voice_for(&self, language: &str) -> Result<(&str, &str), TtsError> {
        let voices = &self.inner.config.voices;
        let lower = language.trim().to_ascii_lowercase();
        voices
            .get_key_value(&lower)
            .or_else(|| voices.get_key_value(&primary_subtag(&lower)))
            .map(|(l, v)| (l.as_str(), v.as_str()))
            .ok_or_else(|| TtsError::UnsupportedLanguage(language.to_owned()))
    }

    async fn load_or_synthesize(
        &self,
        key: &str,
        language: &str,
        voice: &str,
        text: &str,
    ) -> Result<Prompt, TtsError> {
        let inner = &self.inner;
        if let Some(disk) = &inner.disk
            && let Some(prompt) = disk.read(key).await
        {
            inner.disk_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(prompt);
        }
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| TtsError::Failed("renderer closed".into()))?;
        let started = Instant::now();
        inner.renders.fetch_add(1, Ordering::Relaxed);
        let config = &inner.config;
        let wav = Invocation {
            binary: &config.binary,
            voice,
            speed_wpm: config.speed_wpm,
            timeout: config.timeout,
            max_output_bytes: config.max_output_bytes,
        }
        .run(text)
        .await?;
        let pcm =
            wav::parse(&wav).map_err(|e| TtsError::Failed(format!("espeak-ng's output: {e}")))?;
        let samples = resample::resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE);
        if samples.is_empty() {
            return Err(TtsError::Failed("espeak-ng produced no audio".into()));
        }
        let prompt = Prompt::from_samples(samples);
        tracing::info!(
            language,
            voice,
            chars = text.chars().count(),
            audio_ms = prompt.duration().as_millis() as u64,
            render_ms = started.elapsed().as_millis() as u64,
            "rendered prompt"
        );
        if let Some(disk) = &inner.disk {
            disk.write(key, &prompt).await;
        }
        Ok(prompt)
    }
}

fn validate(config: &TtsConfig) -> Result<(), TtsError> {
    let invalid = |m: String| Err(TtsError::InvalidConfig(m));
    if !SPEEDS.contains(&config.speed_wpm) {
        return invalid(format!(
            "speed {} words/min is outside {}..={}",
            config.speed_wpm,
            SPEEDS.start(),
            SPEEDS.end()
        ));
    }
    if config.voices.is_empty() {
        return invalid("no voices".into());
    }
    for (language, voice) in &config.voices {
        // Voice names go on espeak-ng's command line.
        let plain = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_+".contains(c))
        };
        if !plain(language) || language.chars().any(|c| c.is_ascii_uppercase()) {
            return invalid(format!("language {language:?} is not a lower-case code"));
        }
        if !plain(voice) {
            return invalid(format!(
                "voice {voice:?} for {language} is not a voice name"
            ));
        }
    }
    if config.max_concurrent_renders == 0
        || config.max_text_chars == 0
        || config.max_output_bytes == 0
        || config.timeout.is_zero()
    {
        return invalid("limits must be positive".into());
    }
    Ok(())
}

/// `fr-BE` → `fr`, `nl_BE` → `nl`, in lower case.
fn primary_subtag(language: &str) -> String {
    language
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_resolve_to_configured_voices() {
        let tts = Tts::new(TtsConfig::default()).unwrap();
        assert_eq!(tts.voice_for("fr").unwrap(), ("fr", "fr-be"));
        assert_eq!(tts.voice_for(" FR-be ").unwrap(), ("fr", "fr-be"));
        assert_eq!(tts.voice_for("nl_BE").unwrap(), ("nl", "nl"));
        assert_eq!(tts.voice_for("en").unwrap(), ("en", "en-gb"));
        assert!(tts.supports("de"));
        assert_eq!(
            tts.voice_for("it"),
            Err(TtsError::UnsupportedLanguage("it".into()))
        );
        assert!(!tts.supports(""));
    }

    #[test]
    fn configurations_that_would_misbehave_are_refused() {
        let bad = |edit: fn(&mut TtsConfig)| {
            let mut c = TtsConfig::default();
            edit(&mut c);
            matches!(Tts::new(c), Err(TtsError::InvalidConfig(_)))
        };
        assert!(bad(|c| c.speed_wpm = 20));
        assert!(bad(|c| c.voices.clear()));
        assert!(bad(|c| {
            c.voices.insert("fr".into(), "--stdout".into());
        }));
        assert!(bad(|c| {
            c.voices.insert("fr".into(), "fr be".into());
        }));
        assert!(bad(|c| {
            c.voices.insert("FR".into(), "fr".into());
        }));
        assert!(bad(|c| c.max_concurrent_renders = 0));
        assert!(bad(|c| c.timeout = Duration::ZERO));
        assert!(Tts::new(TtsConfig::default()).is_ok());
    }
}
