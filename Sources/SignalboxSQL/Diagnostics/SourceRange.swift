/// A half-open range of UTF-8 byte offsets into a piece of source text.
///
/// Nodes and diagnostics carry byte ranges; line and column are only computed when an error is
/// printed (see ``SourceText``).
package struct SourceRange: Sendable, Hashable, CustomStringConvertible {
    package var start: Int
    package var end: Int

    @inlinable
    package init(start: Int, end: Int) {
        self.start = start
        self.end = max(start, end)
    }

    /// An empty range at `offset`.
    @inlinable
    package init(at offset: Int) { self.init(start: offset, end: offset) }

    /// The smallest range that covers both.
    @inlinable
    package func union(_ other: SourceRange) -> SourceRange {
        SourceRange(start: min(start, other.start), end: max(end, other.end))
    }

    package var count: Int { end - start }

    package var description: String { "\(start)..<\(end)" }
}

/// Source text with a name, and the means to turn byte offsets into line and column.
///
/// SQL embedded in a YAML file keeps a map back to the file: `baseLine`/`baseColumn` is where the
/// SQL text begins, and `lineStarts` of the embedded text maps to file lines. When the embedded text
/// is a folded or literal block, each SQL line begins at `baseColumn` on its own file line.
package struct SourceText: Sendable {
    /// The name shown in diagnostics (`rules.yaml`, `<sql>`).
    package var name: String
    /// The text itself.
    package var text: String
    /// File line (1-based) on which offset 0 of `text` stands.
    package var baseLine: Int
    /// File column (1-based) of offset 0 of `text`; later lines start at `continuationColumn`.
    package var baseColumn: Int
    /// File column (1-based) at which the second and later lines of `text` begin.
    package var continuationColumn: Int
    /// Lines of the file, for showing context when `text` is embedded (nil: `text` is the file).
    package var fileLines: [Substring]?
    /// For text that is a transformed copy of the file (YAML folding joins lines), the file
    /// position of each text line: `(line, column)` pairs, 1-based. Overrides the base values.
    package var lineOrigins: [(line: Int, column: Int)]?

    package init(
        name: String, text: String, baseLine: Int = 1, baseColumn: Int = 1, continuationColumn: Int = 1,
        fileLines: [Substring]? = nil, lineOrigins: [(line: Int, column: Int)]? = nil
    ) {
        self.name = name
        self.text = text
        self.baseLine = baseLine
        self.baseColumn = baseColumn
        self.continuationColumn = continuationColumn
        self.fileLines = fileLines
        self.lineOrigins = lineOrigins
    }

    /// Line (0-based, within `text`) and byte column (0-based) of `offset`.
    package func textPosition(of offset: Int) -> (line: Int, column: Int) {
        let utf8 = text.utf8
        let clamped = min(max(0, offset), utf8.count)
        var line = 0
        var lineStart = 0
        var i = 0
        for byte in utf8.prefix(clamped) {
            i += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
                lineStart = i
            }
        }
        // Columns count characters, not bytes, so carets line up under non-ASCII text.
        let lineBytes = Array(utf8)[lineStart..<clamped]
        let column = String(decoding: lineBytes, as: UTF8.self).count
        return (line, column)
    }

    /// Line and column (1-based) of `offset` in the file.
    package func location(of offset: Int) -> (line: Int, column: Int) {
        let (line, column) = textPosition(of: offset)
        if let lineOrigins, line < lineOrigins.count {
            return (lineOrigins[line].line, lineOrigins[line].column + column)
        }
        return (baseLine + line, (line == 0 ? baseColumn : continuationColumn) + column)
    }

    /// The full file line (1-based) for display, if known.
    package func displayLine(_ fileLine: Int) -> Substring? {
        if let fileLines {
            return fileLines.indices.contains(fileLine - 1) ? fileLines[fileLine - 1] : nil
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let index = fileLine - baseLine
        return lines.indices.contains(index) ? lines[index] : nil
    }
}
