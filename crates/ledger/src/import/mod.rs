//! Reading what users bring: JSON lines of events ([`jsonl`]) and brokers'
//! execution reports ([`broker_csv`]). Both refuse a bad line or row with
//! where it is and how to fix it, before anything is written.

pub mod broker_csv;
pub mod jsonl;
