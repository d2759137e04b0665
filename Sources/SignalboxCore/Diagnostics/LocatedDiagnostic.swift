import SignalboxSQL

/// A diagnostic together with the source text its byte range refers to, ready to render with the
/// file's line and column.
///
/// Messages never contain payload values or the values of environment variables.
///
/// For example:
/// ```
/// error: unknown key 'errorAction' in a rule
///  --> rules.yaml:9:5
///   |
/// 9 |     errorAction:
///   |     ^~~~~~~~~~~ did you mean 'error_action'?
/// ```
public struct LocatedDiagnostic: Error, Sendable {
    /// The diagnostic; its range is in bytes of `source.text`.
    package var diagnostic: Diagnostic
    /// The text the diagnostic points into; nil for problems with no place (an unreadable file).
    package var source: SourceText?
    /// The rule the problem belongs to, if any.
    package var ruleName: String?

    /// A diagnostic at `diagnostic.range` of `source`.
    package init(_ diagnostic: Diagnostic, source: SourceText?, ruleName: String? = nil) {
        self.diagnostic = diagnostic
        self.source = source
        self.ruleName = ruleName
    }

    /// The stable error code (`unknown-key`, `parse`, `env`, …).
    public var code: String { diagnostic.code }

    /// What happened.
    public var message: String { diagnostic.message }

    /// How to fix it, when known (`did you mean 'table'?`).
    public var help: String? { diagnostic.help }

    /// Line and column (1-based) in the file, when the diagnostic has a place.
    public var location: (line: Int, column: Int)? { source.map { $0.location(of: diagnostic.range.start) } }

    /// The diagnostic rendered with its place and a caret (see ``DiagnosticRenderer``), ending in a newline.
    public func rendered() -> String {
        if let source { return DiagnosticRenderer.render(diagnostic, in: source) }
        var out = "\(diagnostic.severity.rawValue): \(diagnostic.message)\n"
        if let help = diagnostic.help { out += " = help: \(help)\n" }
        return out
    }

    /// Sorts diagnostics by file position; diagnostics without a place come first, ties keep their order.
    package static func sorted(_ diagnostics: [LocatedDiagnostic]) -> [LocatedDiagnostic] {
        diagnostics.enumerated().sorted { a, b in
            let la = a.element.location ?? (0, 0)
            let lb = b.element.location ?? (0, 0)
            if la.line != lb.line { return la.line < lb.line }
            if la.column != lb.column { return la.column < lb.column }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// Every problem found in a rules file, thrown together so one run reports all of them.
package struct RulesError: Error, Sendable, CustomStringConvertible {
    /// The file's name as given (`rules.yaml`).
    package var fileName: String
    /// The problems, in file order.
    package var diagnostics: [LocatedDiagnostic]

    /// Creates an error from `diagnostics`, sorting them by position.
    package init(fileName: String, diagnostics: [LocatedDiagnostic]) {
        self.fileName = fileName
        self.diagnostics = LocatedDiagnostic.sorted(diagnostics)
    }

    /// Every diagnostic rendered, separated by blank lines.
    package func rendered() -> String {
        diagnostics.map { $0.rendered() }.joined(separator: "\n")
    }

    /// The report `signalbox check` prints: every diagnostic rendered, each followed by a blank
    /// line, then `error: rules.yaml has 3 errors`.
    package var report: String {
        diagnostics.map { $0.rendered() + "\n" }.joined() + "error: \(summary)\n"
    }

    /// A one-line summary: `rules.yaml has 3 errors`.
    package var summary: String {
        let count = diagnostics.count
        return "\(fileName) has \(count) \(count == 1 ? "error" : "errors")"
    }

    /// Every diagnostic rendered.
    package var description: String { rendered() }
}
