import SignalboxSQL

/// A place in a rules file: a piece of source text and a byte range within it.
///
/// Every value read from `rules.yaml` remembers its span, so an error about it can be rendered with
/// the file's line, column and a caret. Values built in code get a span over their own text.
///
/// For example:
/// ```swift
/// let span = SourceSpan(source: SourceText(name: "rules.yaml", text: "timeout: 10x"), range: SourceRange(start: 9, end: 12))
/// span.diagnostic("duration", "unknown duration unit 'x'").rendered()
/// ```
package struct SourceSpan: Sendable {
    /// The text the range refers to, mapped to its file.
    package var source: SourceText
    /// Bytes of `source.text`.
    package var range: SourceRange

    /// A span over `range` of `source`.
    package init(source: SourceText, range: SourceRange) {
        self.source = source
        self.range = range
    }

    /// A span standing for a value written in code rather than read from a file.
    ///
    /// - Parameter text: The value's text, shown in diagnostics as `<inline>`.
    package init(inline text: String) {
        self.source = SourceText(name: "<inline>", text: text)
        self.range = SourceRange(start: 0, end: text.utf8.count)
    }

    /// Line and column (1-based) of the start of the span in its file.
    package var location: (line: Int, column: Int) { source.location(of: range.start) }

    /// A diagnostic located at this span.
    ///
    /// - Parameters:
    ///   - code: The stable error code (`unknown-key`, `duration`, …).
    ///   - message: What happened, without payload or secret values.
    ///   - help: A short hint shown after the caret.
    ///   - ruleName: The rule the problem belongs to, if any.
    package func diagnostic(_ code: String, _ message: String, help: String? = nil, ruleName: String? = nil)
        -> LocatedDiagnostic
    {
        LocatedDiagnostic(Diagnostic(code, message, at: range, help: help), source: source, ruleName: ruleName)
    }
}
