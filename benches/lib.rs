//! Shared inputs for the criterion benchmarks (the bench targets are in this folder).

pub mod estate;
