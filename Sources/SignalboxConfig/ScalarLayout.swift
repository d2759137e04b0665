import SignalboxSQL
import Yams

/// Maps the text of a YAML scalar back to the file it was read from.
///
/// YAML changes text on the way in: quoted and plain scalars fold line breaks into spaces and drop
/// indentation, block scalars drop indentation, folded (`>`) ones join lines with spaces. This type
/// walks the scalar's value along the file's lines and produces a ``SourceText`` whose byte offsets
/// are those of the value and whose `lineOrigins` give the file line and column of each line. Where a
/// line break was folded into a space, the source text has a newline instead (same byte count), so
/// a position after the fold lands on the right file line.
///
/// For example, the folded scalar
/// ```yaml
///     sql: >-
///       SELECT temp
///       FROM 'devices/+'
/// ```
/// has the value `SELECT temp FROM 'devices/+'`; offset 12 (`FROM`) maps to line 3, column 7.
///
/// Columns after an escape sequence (`\t`, `''`) on the same line are off by the escape's extra
/// length. When the value cannot be matched to the file (explicit indentation indicators, exotic
/// escapes), the mapping falls back to the scalar's first line.
struct ScalarLayout {
    /// The file the scalar was read from.
    let file: SourceFile
    /// The scalar's value, as YAML produced it.
    let value: String
    /// `value`'s characters.
    let characters: [Character]
    /// Byte offset in `value` of each character, plus the total.
    let offsets: [Int]
    /// `value` as bytes, with folded line breaks turned back into newlines.
    var layout: [UInt8]
    /// File position of the first character of each line of `layout`, by line index.
    var origins: [Int: (line: Int, column: Int)] = [:]
    /// The line of `layout` being produced.
    var textLine = 0

    /// The source text of `scalar`, read from `file`.
    static func source(of scalar: Node.Scalar, in file: SourceFile) -> SourceText {
        var layout = ScalarLayout(file: file, value: scalar.string)
        return layout.makeSource(style: scalar.style, mark: scalar.mark)
    }

    /// Prepares to map `value` into `file`.
    init(file: SourceFile, value: String) {
        self.file = file
        self.value = value
        self.characters = Array(value)
        var offsets: [Int] = []
        offsets.reserveCapacity(characters.count + 1)
        var offset = 0
        for character in characters {
            offsets.append(offset)
            offset += String(character).utf8.count
        }
        offsets.append(offset)
        self.offsets = offsets
        self.layout = Array(value.utf8)
    }

    /// The source text of a scalar of `style` whose node starts at `mark`.
    mutating func makeSource(style: Node.Scalar.Style, mark: Mark?) -> SourceText {
        guard let mark else { return SourceText(name: file.name, text: value, fileLines: file.lines) }
        let column = file.characterColumn(line: mark.line, scalarColumn: mark.column)
        let matched: Bool
        let fallback: (line: Int, column: Int)
        switch style {
        case .literal, .folded:
            let indent = blockIndent(headerLine: mark.line, column: column)
            fallback = (mark.line + 1, (indent ?? 0) + 1)
            matched = indent.map { walkBlock(headerLine: mark.line, indent: $0, folded: style == .folded) } ?? false
        case .singleQuoted, .doubleQuoted:
            fallback = (mark.line, column + 1)
            matched = walkFlow(line: mark.line, column: column + 1, quote: style == .singleQuoted ? "'" : "\"")
        case .plain, .any:
            fallback = (mark.line, column)
            matched = walkFlow(line: mark.line, column: column, quote: nil)
        }
        guard matched else {
            return SourceText(
                name: file.name, text: value, baseLine: fallback.line, baseColumn: fallback.column,
                continuationColumn: fallback.column, fileLines: file.lines)
        }
        var lineOrigins: [(line: Int, column: Int)] = []
        var last = (line: fallback.line - 1, column: fallback.column)
        for index in 0...textLine {
            let origin = origins[index] ?? (last.line + 1, 1)
            lineOrigins.append(origin)
            last = origin
        }
        return SourceText(
            name: file.name, text: String(decoding: layout, as: UTF8.self), baseLine: fallback.line,
            baseColumn: fallback.column, continuationColumn: fallback.column, fileLines: file.lines,
            lineOrigins: lineOrigins)
    }

    // MARK: Flow scalars (plain, 'single', "double")

    /// Walks a plain or quoted scalar that starts at `line`:`column` (characters, 1-based).
    mutating func walkFlow(line firstLine: Int, column: Int, quote: Character?) -> Bool {
        var line = firstLine
        var raw = file.characters(line: line)
        var r = column - 1
        var i = 0
        origins[0] = (line, column)
        while i < characters.count {
            let c = characters[i]
            if r < raw.count, !Self.isBlank(raw[r...]) {
                let rc = raw[r]
                if quote == "\"", rc == "\\" {
                    if r + 1 == raw.count {
                        // An escaped line break joins the lines without a space.
                        guard let next = nextContentLine(after: line), next.blank == 0 else { return false }
                        line = next.line
                        raw = file.characters(line: line)
                        r = Self.leadingWhitespace(raw)
                        continue
                    }
                    r += Self.escapeLength(raw, at: r)
                    i += 1
                    if c == "\n" { startLine(line: line, column: r + 1) }
                    continue
                }
                if quote == "'", rc == "'", r + 1 < raw.count, raw[r + 1] == "'", c == "'" {
                    i += 1
                    r += 2
                    continue
                }
                guard rc == c else { return false }
                i += 1
                r += 1
                continue
            }
            // End of a file line inside the scalar: the break was folded into a space, or into one
            // newline per blank line that follows.
            guard let next = nextContentLine(after: line) else { return false }
            if next.blank == 0 {
                guard c == " " else { return false }
                layout[offsets[i]] = UInt8(ascii: "\n")
                i += 1
            } else {
                for blank in 0..<next.blank {
                    guard i < characters.count, characters[i] == "\n" else { return false }
                    i += 1
                    if blank < next.blank - 1 { startLine(line: line + 1 + blank, column: 1) }
                }
            }
            line = next.line
            raw = file.characters(line: line)
            r = Self.leadingWhitespace(raw)
            startLine(line: line, column: r + 1)
        }
        return true
    }

    /// Moves to a new line of the layout, starting at `line`:`column` of the file.
    mutating func startLine(line: Int, column: Int) {
        textLine += 1
        origins[textLine] = (line, column)
    }

    /// The next line after `line` that has content, and how many blank lines were skipped.
    func nextContentLine(after line: Int) -> (line: Int, blank: Int)? {
        var next = line + 1
        var blank = 0
        while next <= file.lines.count {
            let raw = file.characters(line: next)
            if !Self.isBlank(raw[...]) { return (next, blank) }
            blank += 1
            next += 1
        }
        return nil
    }

    /// Whether `characters` are only spaces and tabs.
    static func isBlank(_ characters: ArraySlice<Character>) -> Bool {
        characters.allSatisfy { $0 == " " || $0 == "\t" }
    }

    /// How many spaces and tabs `characters` start with.
    static func leadingWhitespace(_ characters: [Character]) -> Int {
        characters.prefix { $0 == " " || $0 == "\t" }.count
    }

    /// The length in the file of the escape sequence starting with `\` at `index`.
    static func escapeLength(_ raw: [Character], at index: Int) -> Int {
        guard index + 1 < raw.count else { return 1 }
        let length =
            switch raw[index + 1] {
            case "x": 4
            case "u": 6
            case "U": 10
            default: 2
            }
        return min(length, raw.count - index)
    }

    // MARK: Block scalars (| and >)

    /// The indentation of a block scalar's content: detected from its first non-blank line, or, with
    /// an explicit indentation indicator (`|2`), that many columns more than the line holding the key
    /// (past any `- ` of a sequence entry).
    func blockIndent(headerLine: Int, column: Int) -> Int? {
        let headerCharacters = file.characters(line: headerLine)
        for character in headerCharacters.dropFirst(column) {
            if character == " " || character == "#" { break }
            if let digit = character.wholeNumberValue {
                var parent = 0
                while parent < headerCharacters.count {
                    if headerCharacters[parent] == " " {
                        parent += 1
                    } else if headerCharacters[parent] == "-", parent + 1 < headerCharacters.count,
                        headerCharacters[parent + 1] == " "
                    {
                        parent += 2
                    } else {
                        break
                    }
                }
                return parent + digit
            }
        }
        var line = headerLine + 1
        while line <= file.lines.count {
            let raw = file.characters(line: line)
            if !Self.isBlank(raw[...]) { return raw.prefix { $0 == " " }.count }
            line += 1
        }
        return 0
    }

    /// Walks a literal or folded block scalar whose header is on `headerLine`.
    mutating func walkBlock(headerLine: Int, indent: Int, folded: Bool) -> Bool {
        var line = headerLine + 1
        var i = 0
        while i < characters.count, line <= file.lines.count {
            let raw = file.characters(line: line)
            if raw.count <= indent, raw.allSatisfy({ $0 == " " }) {
                // An empty line: a newline of its own, or (folded) merged into the previous break.
                if characters[i] == "\n" {
                    i += 1
                    textLine += 1
                }
                line += 1
                continue
            }
            guard raw.prefix(while: { $0 == " " }).count >= indent else { break }
            origins[textLine] = (line, indent + 1)
            for character in raw.dropFirst(indent) {
                guard i < characters.count, characters[i] == character else { return false }
                i += 1
            }
            line += 1
            guard i < characters.count else { break }
            if characters[i] == "\n" {
                i += 1
                textLine += 1
            } else if folded, characters[i] == " " {
                layout[offsets[i]] = UInt8(ascii: "\n")
                i += 1
                textLine += 1
            } else {
                return false
            }
        }
        // Whatever is left can only be trailing newlines kept by `|+` / `>+`.
        while i < characters.count {
            guard characters[i] == "\n" else { return false }
            i += 1
            textLine += 1
        }
        return true
    }
}
