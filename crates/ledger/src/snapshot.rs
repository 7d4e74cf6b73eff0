//! Per-issuer snapshots: the register state of an issuer as of its latest
//! event, kept beside the log (the store's snapshots table, outside the hash
//! chain) so that an append need not replay the issuer's whole history.
//!
//! A snapshot is derived data. It holds the issuer's state without its
//! history ([`shareledger_core::IssuerState`] serialised, history skipped).
//! Format 1 also held the content digest, log position and id of each live
//! event (for the double-entry rule); format 2 holds none: the append asks
//! the store for the events of a line's issuer and day instead (an index),
//! so a snapshot stays the size of the state, not of the history. Format 3
//! adds each class's on-Exchange repurchases counted per day (what the
//! price cap's warning counts, so that a small append's findings need not
//! walk the history: docs/performance.md, "The findings of a tail
//! append"); a snapshot of format 2 is ignored and rebuilt. It is
//! written by every append that touches the issuer, in the same
//! transaction — unless that append (a large one) left the issuer's state
//! folded (`Register::fold_issuer`: not the whole state, so never a
//! snapshot; the next small append replays the issuer and writes one) —
//! and trusted only when its format is this build's and its
//! stream version is the log's (a snapshot behind or ahead of the log, or of
//! another format, is ignored and the issuer replayed). It is used only to
//! decide a small input (under [`crate::append::PIPELINE_MIN_LINES`] lines)
//! that is not a dry run; a correction reads the issuer's history back from
//! the store; the findings of such an input judge the state as loaded and
//! as the batch leaves it when the batch is a tail of the issuer's history,
//! and replay the issuer from the store otherwise. `audit`,
//! the returns and every `--known-at` query replay the log and never read
//! it. Dropping every snapshot changes no result (docs/performance.md).

use shareledger_core::state::IssuerState;
use uuid::Uuid;

/// The encoding of [`encode`]; a snapshot of another format is ignored.
pub const FORMAT: u32 = 4;

/// One live event as format 1 kept it for the double-entry rule (format 2
/// writes none; the layout is kept): the digest of its
/// content, its log position, its id.
pub type Entry = ((u64, u64), u64, Uuid);

/// Bytes of one entry.
const ENTRY_BYTES: usize = 8 + 8 + 8 + 16;

/// The snapshot bytes of `state` (its history left out) and its live
/// events' `entries`: the state as JSON, length-prefixed, then the entries
/// as fixed-width little-endian records.
pub fn encode(state: &IssuerState, entries: &[Entry]) -> Result<Vec<u8>, serde_json::Error> {
    let json = serde_json::to_vec(state)?;
    let mut out = Vec::with_capacity(8 + json.len() + entries.len() * ENTRY_BYTES);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for ((a, b), position, id) in entries {
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
        out.extend_from_slice(&position.to_le_bytes());
        out.extend_from_slice(&id.as_u128().to_le_bytes());
    }
    Ok(out)
}

/// The state and entries of snapshot bytes of `issuer`, or `None` when they
/// do not read back as one (then the issuer is replayed).
pub fn decode(data: &[u8], issuer: &str) -> Option<(IssuerState, Vec<Entry>)> {
    let (len, rest) = data.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    if rest.len() < len {
        return None;
    }
    let (json, rest) = rest.split_at(len);
    let state: IssuerState = serde_json::from_slice(json).ok()?;
    if state.id() != issuer || rest.len() % ENTRY_BYTES != 0 {
        return None;
    }
    let u64_at = |c: &[u8], i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&c[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let entries = rest
        .chunks_exact(ENTRY_BYTES)
        .map(|c| {
            let mut id = [0u8; 16];
            id.copy_from_slice(&c[24..40]);
            (
                (u64_at(c, 0), u64_at(c, 8)),
                u64_at(c, 16),
                Uuid::from_u128(u128::from_le_bytes(id)),
            )
        })
        .collect();
    Some((state, entries))
}
