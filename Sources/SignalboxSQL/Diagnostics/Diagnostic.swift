/// A problem found in a rule, with a stable code, a message, a place, and help.
///
/// Messages never contain payload values. Render with ``DiagnosticRenderer``.
package struct Diagnostic: Error, Sendable, Hashable {
    /// How bad it is.
    package enum Severity: String, Sendable {
        case error
        case warning
    }

    /// What kind of error, stable across versions (`parse`, `unknown-function`, …).
    package var code: String
    /// What happened, in one sentence without payload content.
    package var message: String
    /// Where, in bytes of the rule text.
    package var range: SourceRange
    /// A hint shown under the caret (`did you mean 'avg'?`).
    package var help: String?
    package var severity: Severity

    package init(
        _ code: String, _ message: String, at range: SourceRange, help: String? = nil, severity: Severity = .error
    ) {
        self.code = code
        self.message = message
        self.range = range
        self.help = help
        self.severity = severity
    }

    /// Whether this diagnostic comes from parsing (as opposed to name resolution or typing).
    package var isParseError: Bool { code.hasPrefix("parse") || code == "too-deep" || code == "lexer" }
}

/// A list of diagnostics thrown together, so one run reports every problem at once.
package struct DiagnosticList: Error, Sendable {
    package var diagnostics: [Diagnostic]

    package init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
}
