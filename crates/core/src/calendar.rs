//! Hong Kong business days (being written).
