//! # shareledger
//!
//! An event-sourced share register for companies listed in Hong Kong. This
//! crate is a thin façade over the workspace:
//!
//! * [`core`]: the domain, pure (events, decide, apply, calendar, rules);
//! * [`store`]: the SQLite event store with its hash chain;
//! * [`returns`]: balances, the NDDR, the Monthly Return, rule checks, renderers;
//! * [`ledger`]: the application layer every front end calls;
//! * [`cli`]: the command line.
//!
//! See `docs/ARCHITECTURE.md` for the map.

pub use shareledger_cli as cli;
pub use shareledger_core as core;
pub use shareledger_ledger as ledger;
pub use shareledger_returns as returns;
pub use shareledger_store as store;
