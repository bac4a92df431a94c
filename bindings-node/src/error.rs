//! The one mapping of core errors to the package's errors.
//!
//! Each core [`Error`] becomes a JavaScript error whose message is a small JSON object: the
//! error's `code` (`ERR_FOREWARN_CONFIG`, …), its text, and for configuration errors the file,
//! line, column and key. The package's `errors.js` turns it into the matching `ForewarnError`
//! subclass with those fields; this file is the only place that chooses a code.

use forewarn::Error;
use serde_json::json;

/// The code of each kind of core error.
pub(crate) fn code_of(e: &Error) -> &'static str {
    match e {
        Error::Config { .. } => "ERR_FOREWARN_CONFIG",
        Error::Invalid { .. } | Error::NoUsableRows { .. } => "ERR_FOREWARN_INVALID_ARGUMENT",
        Error::NotFound { .. } => "ERR_FOREWARN_NOT_FOUND",
        Error::Store(_) => "ERR_FOREWARN_STORE",
        Error::Conflict(_) => "ERR_FOREWARN_CONFLICT",
        Error::Sink { .. } | Error::RateLimited { .. } => "ERR_FOREWARN_SINK",
        Error::Io { .. } => "ERR_FOREWARN_IO",
        Error::Stopped { .. } => "ERR_FOREWARN_STOPPED",
        _ => "ERR_FOREWARN",
    }
}

/// A core error as the error thrown to JavaScript.
pub(crate) fn to_js(e: Error) -> napi::Error {
    let mut detail = json!({ "code": code_of(&e), "message": e.to_string() });
    if let Error::Config {
        file,
        line,
        col,
        key,
        ..
    } = &e
    {
        detail["file"] = json!(file.display().to_string());
        detail["line"] = json!(line);
        detail["column"] = json!(col);
        detail["key"] = json!(key);
    }
    napi::Error::from_reason(format!("{MARK}{detail}"))
}

/// What starts the message of an error made by [`to_js`]: the package recognises its errors by it.
pub(crate) const MARK: &str = "\u{1}forewarn:";

/// An error of the binding itself (a value that cannot be converted), with the generic code.
pub(crate) fn other(message: impl std::fmt::Display) -> napi::Error {
    let detail = json!({ "code": "ERR_FOREWARN", "message": message.to_string() });
    napi::Error::from_reason(format!("{MARK}{detail}"))
}

/// `Result` conversion: `core_result.map_err(to_js)` in one word.
pub(crate) trait IntoJs<T> {
    /// The result with its core error mapped.
    fn js(self) -> napi::Result<T>;
}

impl<T> IntoJs<T> for forewarn::Result<T> {
    fn js(self) -> napi::Result<T> {
        self.map_err(to_js)
    }
}
