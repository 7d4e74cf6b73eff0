pub use shareledger_core as core;
