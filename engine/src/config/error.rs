//! Configuration errors: each one located by file, line, column and field path.

use std::fmt;
use std::path::PathBuf;

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file (empty for errors straight from [`super::Config::validate`]).
    pub file: PathBuf,
    /// 1-based line of the offending key (or of its table's header); 0 when unknown.
    pub line: usize,
    /// 1-based column on that line; 0 when unknown.
    pub column: usize,
    /// Dotted path of the field, e.g. `sources[1].listen` or `engine.batch_size`; empty for
    /// errors about the whole document (syntax errors, unreadable file).
    pub field: String,
    /// What is wrong, in one line.
    pub message: String,
}

impl ConfigError {
    /// A semantic error for `field`, not yet located in a file.
    pub(crate) fn unlocated(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: PathBuf::new(),
            line: 0,
            column: 0,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `FILE:LINE:COL: FIELD: MESSAGE` (the `FIELD: ` part is left out when there is no field).
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one configuration file, in source order where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// One [`ConfigError`] per line.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
