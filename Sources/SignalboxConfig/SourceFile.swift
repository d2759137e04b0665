import SignalboxCore
import SignalboxSQL

/// A rules file's text split into lines, for mapping YAML marks to diagnostics.
struct SourceFile: Sendable {
    /// The name shown in diagnostics (the path as given).
    let name: String
    /// The file's lines, without line breaks.
    let lines: [Substring]

    /// Splits `text` at the line breaks YAML knows (`\n`, `\r\n`, `\r`, U+0085, U+2028, U+2029).
    init(name: String, text: String) {
        self.name = name
        self.lines = text.split(omittingEmptySubsequences: false) { character in
            switch character {
            case "\n", "\r\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": true
            default: false
            }
        }
    }

    /// The characters of line `line` (1-based); empty past the end of the file.
    func characters(line: Int) -> [Character] {
        lines.indices.contains(line - 1) ? Array(lines[line - 1]) : []
    }

    /// Converts a YAML column (1-based, counted in Unicode scalars) to a column counted in characters.
    func characterColumn(line: Int, scalarColumn: Int) -> Int {
        guard lines.indices.contains(line - 1), scalarColumn > 1 else { return max(1, scalarColumn) }
        let text = lines[line - 1]
        let scalars = text.unicodeScalars
        let available = scalars.count
        let wanted = scalarColumn - 1
        guard
            let index = scalars.index(scalars.startIndex, offsetBy: min(wanted, available), limitedBy: scalars.endIndex)
        else { return scalarColumn }
        let characters = text[..<index].count
        return characters + 1 + max(0, wanted - available)
    }

    /// A span of `length` characters at `line`:`column` (1-based, in characters).
    func span(line: Int, column: Int, length: Int = 1) -> SourceSpan {
        var text = lines.indices.contains(line - 1) ? String(lines[line - 1]) : ""
        let characters = Array(text)
        if characters.count < column - 1 { text += String(repeating: " ", count: column - 1 - characters.count) }
        let padded = Array(text)
        let start = padded.prefix(column - 1).reduce(0) { $0 + String($1).utf8.count }
        let end = start + padded.dropFirst(column - 1).prefix(max(1, length)).reduce(0) { $0 + String($1).utf8.count }
        let source = SourceText(name: name, text: text, baseLine: line, fileLines: lines)
        return SourceSpan(source: source, range: SourceRange(start: start, end: max(start, end)))
    }

    /// A span of `length` characters at a YAML position (line and column 1-based, column in scalars).
    func span(line: Int, scalarColumn: Int, length: Int = 1) -> SourceSpan {
        span(line: line, column: characterColumn(line: line, scalarColumn: scalarColumn), length: length)
    }
}
