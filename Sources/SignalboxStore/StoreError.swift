/// A storage failure that isn't an SQLite error: a stable code, a message saying what to do, and the
/// underlying cause.
///
/// Messages never quote stored document values.
package struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, stable across releases.
    package enum Code: String, Sendable, Hashable {
        /// The data directory or database file can't be opened.
        case cannotOpen
        /// A stored row can't be decoded.
        case corruptRecord
    }

    /// What went wrong.
    package var code: Code
    /// What happened and what to do about it.
    package var message: String
    /// The underlying error, if any.
    package var cause: (any Error)?

    /// Creates an error.
    package init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    package var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}
