import SignalboxSQL

/// A string value from a rules file that remembers where it was written.
///
/// `value` is the string after `${env:NAME}` references were replaced; `source` holds the text as
/// written (before substitution) mapped to its file, so byte offsets into the original text render
/// with the right line and column. Diagnostics about `value` go through ``diagnostic(_:)``, which
/// maps their ranges back to the file and never shows a substituted value.
///
/// For example:
/// ```swift
/// let sql: LocatedString = "SELECT temp FROM 'devices/+/telemetry'"
/// sql.value  // "SELECT temp FROM 'devices/+/telemetry'"
/// ```
package struct LocatedString: Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// One `${env:NAME}` reference that was replaced by the variable's value.
    package struct Substitution: Sendable, Hashable {
        /// The environment variable's name.
        package var variable: String
        /// The reference `${env:NAME}` (or `${env:NAME:-default}`) in bytes of `source.text`.
        package var sourceRange: SourceRange
        /// The substituted text in bytes of `value`.
        package var valueRange: SourceRange

        /// Records that `sourceRange` of the original text became `valueRange` of the value.
        package init(variable: String, sourceRange: SourceRange, valueRange: SourceRange) {
            self.variable = variable
            self.sourceRange = sourceRange
            self.valueRange = valueRange
        }
    }

    /// The value, after environment substitution.
    package var value: String
    /// The text as written, mapped to its file.
    package var source: SourceText
    /// The substitutions made, in order.
    package var substitutions: [Substitution]

    /// A located string.
    ///
    /// - Parameters:
    ///   - value: The value after substitution.
    ///   - source: The text as written; nil for a value written in code (named `<inline>`).
    ///   - substitutions: The `${env:…}` references replaced in `value`, in order.
    package init(_ value: String, source: SourceText? = nil, substitutions: [Substitution] = []) {
        self.value = value
        self.source = source ?? SourceText(name: "<inline>", text: value)
        self.substitutions = substitutions
    }

    /// A string written in code.
    package init(stringLiteral value: String) { self.init(value) }

    /// The whole string, as written.
    package var span: SourceSpan {
        SourceSpan(source: source, range: SourceRange(start: 0, end: source.text.utf8.count))
    }

    /// A span over `range`, given in bytes of `value`.
    package func span(of range: SourceRange) -> SourceSpan {
        SourceSpan(source: source, range: sourceRange(for: range))
    }

    /// The value.
    package var description: String { value }

    /// Maps a byte range of `value` to the original text: a range that touches a substituted part
    /// widens to cover the whole `${env:…}` reference.
    package func sourceRange(for range: SourceRange) -> SourceRange {
        SourceRange(start: sourceOffset(range.start, isEnd: false), end: sourceOffset(range.end, isEnd: true))
    }

    private func sourceOffset(_ offset: Int, isEnd: Bool) -> Int {
        var delta = 0
        for substitution in substitutions {
            let replaced = substitution.valueRange
            if isEnd ? offset <= replaced.start : offset < replaced.start { break }
            if isEnd ? offset <= replaced.end : offset < replaced.end {
                return isEnd ? substitution.sourceRange.end : substitution.sourceRange.start
            }
            delta = substitution.sourceRange.end - replaced.end
        }
        return offset + delta
    }

    /// The substitution whose value `range` (in bytes of `value`) overlaps, if any.
    package func substitution(overlapping range: SourceRange) -> Substitution? {
        substitutions.first { s in
            let r = s.valueRange
            if range.start == range.end { return r.start <= range.start && range.start <= r.end }
            return range.start < r.end && r.start < range.end
        }
    }

    /// Locates a diagnostic whose range is in bytes of `value`.
    ///
    /// A diagnostic that points into a substituted environment value is reported against the
    /// `${env:NAME}` reference, with a message that does not repeat the value.
    package func diagnostic(_ diagnostic: Diagnostic, ruleName: String? = nil) -> LocatedDiagnostic {
        var diagnostic = diagnostic
        // "End of input" in trailing whitespace (a block scalar's final newline) points just after the
        // last word instead, which is where something is missing.
        let contentEnd =
            (value.utf8.lastIndex { !Self.isWhitespace($0) }).map {
                value.utf8.distance(from: value.utf8.startIndex, to: $0) + 1
            } ?? 0
        if diagnostic.range.start > contentEnd { diagnostic.range = SourceRange(at: contentEnd) }
        var located = diagnostic
        located.range = sourceRange(for: diagnostic.range)
        if let substitution = substitution(overlapping: diagnostic.range) {
            located.message =
                "the value of environment variable '\(substitution.variable)' is not valid here (\(diagnostic.code) error)"
            located.help = "the value is not shown"
        }
        return LocatedDiagnostic(located, source: source, ruleName: ruleName)
    }

    /// Whether `byte` is ASCII white space.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
            || byte == UInt8(ascii: "\r")
    }

    /// A diagnostic about `range` of `value` (the whole value when nil).
    package func diagnostic(
        _ code: String, _ message: String, at range: SourceRange? = nil, help: String? = nil, ruleName: String? = nil
    ) -> LocatedDiagnostic {
        let range = range ?? SourceRange(start: 0, end: value.utf8.count)
        return diagnostic(Diagnostic(code, message, at: range, help: help), ruleName: ruleName)
    }
}
