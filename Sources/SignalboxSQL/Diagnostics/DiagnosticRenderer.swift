/// Renders diagnostics the way compilers do: the message, the place, the line and a caret.
///
/// ```
/// error: unknown function 'avrg'
///  --> rules.yaml:12:17
/// 12 |     sql: SELECT avrg(temp) FROM 'sensors/+'
///    |                 ^~~~ did you mean 'avg'?
/// ```
package enum DiagnosticRenderer {
    /// Renders one diagnostic against its source.
    package static func render(_ diagnostic: Diagnostic, in source: SourceText) -> String {
        let (line, column) = source.location(of: diagnostic.range.start)
        var out = "\(diagnostic.severity.rawValue): \(diagnostic.message)\n"
        let gutter = String(line).count
        let pad = String(repeating: " ", count: gutter)
        out += "\(pad)--> \(source.name):\(line):\(column)\n"
        guard let text = source.displayLine(line) else {
            if let help = diagnostic.help { out += "\(pad) = help: \(help)\n" }
            return out
        }
        let lineText = text.replacingTabs()
        out += "\(pad) |\n"
        out += "\(line) | \(lineText)\n"
        // Underline the range, limited to the first line it touches.
        let (endLine, endColumn) = source.location(of: diagnostic.range.end)
        let lineLength = lineText.count
        var width = endLine == line ? max(1, endColumn - column) : max(1, lineLength - column + 1)
        width = max(1, min(width, max(1, lineLength - column + 2)))
        let marker = "^" + String(repeating: "~", count: width - 1)
        out += "\(pad) | " + String(repeating: " ", count: max(0, column - 1)) + marker
        if let help = diagnostic.help { out += " \(help)" }
        out += "\n"
        return out
    }

    /// Renders diagnostics one after the other, separated by blank lines.
    package static func render(_ diagnostics: [Diagnostic], in source: SourceText) -> String {
        diagnostics.map { render($0, in: source) }.joined(separator: "\n")
    }
}

extension Substring {
    fileprivate func replacingTabs() -> String {
        String(self.map { $0 == "\t" ? " " : $0 })
    }
}
