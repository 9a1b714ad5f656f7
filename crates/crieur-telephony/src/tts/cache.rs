//! Where rendered prompts are kept: in memory, bounded by total samples with the least
//! recently used evicted first, and optionally on disk as raw 8 kHz s16le files named
//! by the key, so that a restart does not render an alert again. A failure of the disk
//! cache is logged and the prompt rendered: the call must still go out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{Prompt, TtsError};

/// Bumped whenever the audio for the same inputs would differ (resampler, format).
const KEY_VERSION: &str = "crieur-tts/1";

/// The cache key: a hex SHA-256 over everything that shapes the audio.
pub(crate) fn key(language: &str, voice: &str, speed_wpm: u16, text: &str) -> String {
    let mut h = Sha256::new();
    for part in [KEY_VERSION, language, voice, &speed_wpm.to_string(), text] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// One render shared by everyone asking for the same key while it runs.
pub(crate) type Slot = Arc<OnceCell<Result<Prompt, TtsError>>>;

pub(crate) enum Lookup {
    Hit(Prompt),
    /// Not rendered yet: initialise the slot (or wait for whoever is doing it).
    Pending(Slot),
}

#[derive(Debug)]
pub(crate) struct MemoryCache {
    max_samples: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Samples held by settled entries.
    total: usize,
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    slot: Slot,
    last_used: u64,
    /// Zero until the render succeeded and was accounted for.
    samples: usize,
}

impl MemoryCache {
    pub(crate) fn new(max_samples: usize) -> Self {
        MemoryCache {
            max_samples,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements; a panic elsewhere cannot tear it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lookup(&self, key: &str) -> Lookup {
        let mut state = self.state();
        state.clock += 1;
        let now = state.clock;
        let entry = state
            .entries
            .entry(key.to_owned())
            .or_insert_with(|| Entry {
                slot: Slot::default(),
                last_used: now,
                samples: 0,
            });
        entry.last_used = now;
        match entry.slot.get() {
            Some(Ok(prompt)) => Lookup::Hit(prompt.clone()),
            _ => Lookup::Pending(Arc::clone(&entry.slot)),
        }
    }

    /// Records the outcome of `slot`: a prompt is counted (evicting others as needed),
    /// a failure is forgotten so that the next request tries again.
    pub(crate) fn settle(&self, key: &str, slot: &Slot, outcome: &Result<Prompt, TtsError>) {
        let mut state = self.state();
        let Some(entry) = state.entries.get_mut(key) else {
            return;
        };
        if !Arc::ptr_eq(&entry.slot, slot) {
            return;
        }
        match outcome {
            Err(_) => {
                let forgotten = state.entries.remove(key).map_or(0, |e| e.samples);
                state.total -= forgotten;
            }
            Ok(prompt) if entry.samples == 0 => {
                // Never zero: an empty render is an error.
                entry.samples = prompt.len().max(1);
                state.total += entry.samples;
                state.evict(key, self.max_samples);
            }
            Ok(_) => {}
        }
    }

    /// (settled prompts, their samples).
    pub(crate) fn usage(&self) -> (usize, usize) {
        let state = self.state();
        let settled = state.entries.values().filter(|e| e.samples > 0).count();
        (settled, state.total)
    }
}

impl State {
    fn evict(&mut self, newest: &str, max_samples: usize) {
        while self.total > max_samples {
            let oldest = self
                .entries
                .iter()
                .filter(|(k, e)| e.samples > 0 && k.as_str() != newest)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            // Alone and still too large: the caller gets it, the cache does not keep it.
            let victim = oldest.unwrap_or_else(|| newest.to_owned());
            let freed = self.entries.remove(&victim).map_or(0, |e| e.samples);
            self.total -= freed;
            if victim == newest {
                break;
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    seq: AtomicU64,
}

impl DiskCache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        DiskCache {
            dir,
            seq: AtomicU64::new(0),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.s16le"))
    }

    pub(crate) async fn read(&self, key: &str) -> Option<Prompt> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) if !bytes.is_empty() && bytes.len().is_multiple_of(2) => {
                let samples: Vec<i16> = bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                Some(Prompt::from_samples(samples))
            }
            Ok(bytes) => {
                tracing::warn!(path = %path.display(), len = bytes.len(), "damaged cached prompt, rendering again");
                None
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read cached prompt, rendering again");
                None
            }
        }
    }

    /// Writes through a temporary file and a rename, so a reader never sees half a file.
    pub(crate) async fn write(&self, key: &str, prompt: &Prompt) {
        let bytes: Vec<u8> = prompt
            .samples()
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!("{key}.tmp-{}-{seq}", std::process::id()));
        let path = self.path(key);
        if let Err(e) = write_then_rename(&self.dir, &tmp, &path, &bytes).await {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache prompt on disk");
            // Best effort: the temporary file may not even exist.
            let _ = tokio::fs::remove_file(&tmp).await;
        }
    }
}

async fn write_then_rename(
    dir: &Path,
    tmp: &Path,
    path: &Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    tokio::fs::write(tmp, bytes).await?;
    tokio::fs::rename(tmp, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle_new(cache: &MemoryCache, key: &str, samples: usize) {
        let Lookup::Pending(slot) = cache.lookup(key) else {
            panic!("{key} already cached");
        };
        let prompt = Ok(Prompt::from_samples(vec![1; samples]));
        slot.set(prompt.clone()).unwrap();
        cache.settle(key, &slot, &prompt);
    }

    #[test]
    fn keys_separate_every_input() {
        let base = key("nl", "nl", 150, "Brand");
        assert_eq!(base.len(), 64);
        assert_eq!(base, key("nl", "nl", 150, "Brand"));
        for other in [
            key("fr", "nl", 150, "Brand"),
            key("nl", "de", 150, "Brand"),
            key("nl", "nl", 160, "Brand"),
            key("nl", "nl", 150, "brand"),
            // Lengths are hashed too, so moving a boundary changes the key.
            key("n", "lnl", 150, "Brand"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn evicts_the_least_recently_used_beyond_the_bound() {
        let cache = MemoryCache::new(250);
        settle_new(&cache, "a", 100);
        settle_new(&cache, "b", 100);
        assert!(matches!(cache.lookup("a"), Lookup::Hit(_)));
        settle_new(&cache, "c", 100);
        // b was used least recently.
        assert!(matches!(cache.lookup("b"), Lookup::Pending(_)));
        assert!(matches!(cache.lookup("a"), Lookup::Hit(_)));
        assert!(matches!(cache.lookup("c"), Lookup::Hit(_)));
        assert_eq!(cache.usage(), (2, 200));
    }

    #[test]
    fn a_prompt_larger_than_the_bound_is_not_kept() {
        let cache = MemoryCache::new(50);
        settle_new(&cache, "small", 40);
        settle_new(&cache, "huge", 500);
        assert_eq!(cache.usage(), (0, 0));
        assert!(matches!(cache.lookup("huge"), Lookup::Pending(_)));
    }

    #[test]
    fn failures_are_forgotten() {
        let cache = MemoryCache::new(1000);
        let Lookup::Pending(slot) = cache.lookup("k") else {
            panic!()
        };
        let failed = Err(TtsError::Failed("boom".into()));
        slot.set(failed.clone()).unwrap();
        cache.settle("k", &slot, &failed);
        let Lookup::Pending(again) = cache.lookup("k") else {
            panic!()
        };
        assert!(!Arc::ptr_eq(&slot, &again));
        assert!(again.get().is_none());
    }

    #[tokio::test]
    async fn disk_round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskCache::new(dir.path().join("prompts"));
        assert_eq!(disk.read("k").await, None);
        let prompt = Prompt::from_samples(vec![0, -1, i16::MAX, i16::MIN]);
        disk.write("k", &prompt).await;
        assert_eq!(disk.read("k").await, Some(prompt));
        std::fs::write(dir.path().join("prompts/k.s16le"), [1, 2, 3]).unwrap();
        assert_eq!(disk.read("k").await, None);
        // Only the final file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("prompts"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["k.s16le"]);
    }
}
