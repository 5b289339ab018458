//! Interned strings for repeated, low-cardinality values (vendor, product, host, event code,
//! source, metric names). A [`Symbol`] is one pointer: compared and hashed by address, copied for
//! free. Interned text lives for the rest of the process, so the table is capped; past the cap
//! new values share one overflow symbol and are counted in [`interned_count`]'s companion
//! [`overflowed_count`].

use dashmap::DashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

/// Most distinct strings the interner keeps (about 100 MB of text at worst).
pub const MAX_SYMBOLS: usize = 1 << 20;
/// The symbol every value past [`MAX_SYMBOLS`] becomes.
pub const OVERFLOW_TEXT: &str = "(interner full)";

static TABLE: LazyLock<DashSet<&'static str, rustc_hash::FxBuildHasher>> =
    LazyLock::new(|| DashSet::with_hasher(rustc_hash::FxBuildHasher));
static COUNT: AtomicUsize = AtomicUsize::new(0);

const CACHE_SLOTS: usize = 1024;

thread_local! {
    /// Recently interned texts of this thread, direct-mapped by hash.
    static CACHE: [std::cell::Cell<Option<&'static str>>; CACHE_SLOTS] =
        const { [const { std::cell::Cell::new(None) }; CACHE_SLOTS] };
}
static OVERFLOWED: AtomicUsize = AtomicUsize::new(0);

/// An interned string. Equality and hashing are by address, which is sound because the
/// interner hands out exactly one address per distinct text.
#[derive(Clone, Copy)]
pub struct Symbol(&'static str);

impl Symbol {
    /// Returns the one symbol for `text`, interning it on first use. A per-thread cache in
    /// front of the shared table answers repeated texts (hosts, event codes, actions) without
    /// taking the table's shard lock.
    pub fn intern(text: &str) -> Symbol {
        let slot = {
            use std::hash::BuildHasher;
            rustc_hash::FxBuildHasher.hash_one(text) as usize % CACHE_SLOTS
        };
        let cached = CACHE.with(|c| c[slot].get());
        if let Some(hit) = cached.filter(|s| *s == text) {
            return Symbol(hit);
        }
        let sym = Symbol::intern_shared(text);
        if sym.0 == text {
            CACHE.with(|c| c[slot].set(Some(sym.0)));
        }
        sym
    }

    /// The symbol for `text` if it is already interned (nothing is added).
    pub fn find(text: &str) -> Option<Symbol> {
        TABLE.get(text).map(|found| Symbol(*found))
    }

    fn intern_shared(text: &str) -> Symbol {
        if let Some(found) = TABLE.get(text) {
            return Symbol(*found);
        }
        if COUNT.load(Ordering::Relaxed) >= MAX_SYMBOLS {
            OVERFLOWED.fetch_add(1, Ordering::Relaxed);
            return Symbol::intern_static(OVERFLOW_TEXT);
        }
        let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
        // Two threads may race to insert the same text: the loser's copy is leaked but unused,
        // and both return the entry that won, so the address stays unique.
        if TABLE.insert(leaked) {
            COUNT.fetch_add(1, Ordering::Relaxed);
            return Symbol(leaked);
        }
        Symbol(
            *TABLE
                .get(text)
                .expect("entry was just inserted by another thread"),
        )
    }

    /// Interns a `'static` string without copying it.
    pub fn intern_static(text: &'static str) -> Symbol {
        if let Some(found) = TABLE.get(text) {
            return Symbol(*found);
        }
        if TABLE.insert(text) {
            COUNT.fetch_add(1, Ordering::Relaxed);
            return Symbol(text);
        }
        Symbol(
            *TABLE
                .get(text)
                .expect("entry was just inserted by another thread"),
        )
    }

    /// The text.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// How many distinct symbols exist.
pub fn interned_count() -> usize {
    COUNT.load(Ordering::Relaxed)
}

/// How many interning requests hit the cap and got the overflow symbol.
pub fn overflowed_count() -> usize {
    OVERFLOWED.load(Ordering::Relaxed)
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0.as_ptr(), other.0.as_ptr()) && self.0.len() == other.0.len()
    }
}
impl Eq for Symbol {}

/// Ordered by text (consistent with equality: one address per distinct text).
impl Ord for Symbol {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(other.0)
    }
}

impl PartialOrd for Symbol {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Symbol {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0.as_ptr() as usize).hash(state);
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl From<&str> for Symbol {
    fn from(text: &str) -> Symbol {
        Symbol::intern(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_gives_same_symbol() {
        let a = Symbol::intern("fw-01.example");
        let b = Symbol::intern(&String::from("fw-01.example"));
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "fw-01.example");
        assert_ne!(a, Symbol::intern("fw-02.example"));
    }

    #[test]
    fn static_and_owned_interning_agree() {
        let a = Symbol::intern_static("cisco-static-test");
        let b = Symbol::intern("cisco-static-test");
        assert_eq!(a, b);
    }
}
