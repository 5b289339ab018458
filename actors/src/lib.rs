//! tocsin
