/// Splits rule SQL into tokens, over UTF-8 bytes.
///
/// - Identifiers: `[A-Za-z_][A-Za-z0-9_$]*`, or any text in backquotes (`` `my-key` ``).
/// - Variables: `@name`.
/// - Strings: single or double quotes; a quote is doubled (`'it''s'`) or escaped with a backslash,
///   and `\n`, `\t`, `\r`, `\\`, `\'`, `\"`, `\uXXXX` are understood.
/// - Numbers: `12`, `1.5`, `.5`, `1e3`, `1.5E-3`; integers beyond Int64 become decimals.
/// - Comments: `-- to end of line` and `/* … */`.
package struct Lexer {
    let bytes: [UInt8]
    var position = 0
    package private(set) var diagnostics: [Diagnostic] = []
    /// Where each comment is: AWS IoT SQL has none, so `check` warns about them.
    package private(set) var comments: [SourceRange] = []
    /// The most diagnostics one statement reports; the rest would only repeat the problem.
    static let maxDiagnostics = 20

    mutating func report(_ diagnostic: Diagnostic) {
        if diagnostics.count < Self.maxDiagnostics { diagnostics.append(diagnostic) }
    }

    package init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    /// All tokens, ending with `.endOfInput`. Problems are collected in ``diagnostics``.
    package mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = next()
            tokens.append(token)
            if case .endOfInput = token.kind { return tokens }
        }
    }

    mutating func next() -> Token {
        // An unknown character is reported and skipped; keep going until a real token.
        while true {
            if let token = lexToken() { return token }
        }
    }

    /// The next token, or nil after skipping (and reporting) an unknown character.
    mutating func lexToken() -> Token? {
        skipTrivia()
        guard position < bytes.count else { return Token(.endOfInput, SourceRange(at: bytes.count)) }
        let start = position
        let byte = bytes[position]
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            while position < bytes.count, Self.isIdentifierByte(bytes[position]) { position += 1 }
            let name = text(start, position)
            let range = SourceRange(start: start, end: position)
            if let keyword = Keyword.byUppercasedName[name.uppercased()] { return Token(.keyword(keyword), range) }
            return Token(.identifier(name), range)
        case UInt8(ascii: "`"):
            position += 1
            let contentStart = position
            while position < bytes.count, bytes[position] != UInt8(ascii: "`") { position += 1 }
            guard position < bytes.count else {
                report(
                    Diagnostic(
                        "parse.unterminated", "unterminated quoted identifier",
                        at: SourceRange(start: start, end: start + 1), help: "close it with a backquote (`)"))
                return Token(.quotedIdentifier(text(contentStart, position)), SourceRange(start: start, end: position))
            }
            let name = text(contentStart, position)
            position += 1
            return Token(.quotedIdentifier(name), SourceRange(start: start, end: position))
        case UInt8(ascii: "@"):
            position += 1
            let nameStart = position
            while position < bytes.count, Self.isIdentifierByte(bytes[position]) { position += 1 }
            if nameStart == position {
                report(
                    Diagnostic(
                        "parse.variable", "expected a variable name after '@'",
                        at: SourceRange(start: start, end: position)))
            }
            return Token(.variable(text(nameStart, position)), SourceRange(start: start, end: position))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            return lexNumber(start: start)
        case UInt8(ascii: "."):
            if position + 1 < bytes.count, bytes[position + 1] &- UInt8(ascii: "0") < 10 {
                return lexNumber(start: start)
            }
            position += 1
            return Token(.symbol(.dot), SourceRange(start: start, end: position))
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return lexString(start: start, quote: byte)
        default:
            return lexSymbol(start: start)
        }
    }

    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"):
            true
        default: false
        }
    }

    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }

    mutating func skipTrivia() {
        while position < bytes.count {
            let byte = bytes[position]
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 || byte == 0x0C {
                position += 1
            } else if byte == UInt8(ascii: "-"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "-") {
                let start = position
                while position < bytes.count, bytes[position] != 0x0A { position += 1 }
                comments.append(SourceRange(start: start, end: position))
            } else if byte == UInt8(ascii: "/"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "*") {
                let start = position
                position += 2
                while position + 1 < bytes.count,
                    !(bytes[position] == UInt8(ascii: "*") && bytes[position + 1] == UInt8(ascii: "/"))
                {
                    position += 1
                }
                if position + 1 >= bytes.count {
                    report(
                        Diagnostic(
                            "parse.unterminated", "unterminated comment", at: SourceRange(start: start, end: start + 2),
                            help: "close it with */"))
                    position = bytes.count
                } else {
                    position += 2
                    comments.append(SourceRange(start: start, end: position))
                }
            } else {
                return
            }
        }
    }

    mutating func lexNumber(start: Int) -> Token {
        var isDecimal = false
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        if position < bytes.count, bytes[position] == UInt8(ascii: "."),
            position + 1 < bytes.count, bytes[position + 1] &- UInt8(ascii: "0") < 10
        {
            isDecimal = true
            position += 1
            while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        } else if position < bytes.count, bytes[position] == UInt8(ascii: "."),
            !(position + 1 < bytes.count && Self.isIdentifierByte(bytes[position + 1]))
        {
            // "1." is a decimal; "a.1" paths are lexed elsewhere.
            isDecimal = true
            position += 1
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            var look = position + 1
            if look < bytes.count, bytes[look] == UInt8(ascii: "+") || bytes[look] == UInt8(ascii: "-") { look += 1 }
            if look < bytes.count, bytes[look] &- UInt8(ascii: "0") < 10 {
                isDecimal = true
                position = look
                while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
            }
        }
        let range = SourceRange(start: start, end: position)
        let literal = text(start, position)
        if position < bytes.count, Self.isIdentifierByte(bytes[position]) {
            let end = position
            while position < bytes.count, Self.isIdentifierByte(bytes[position]) { position += 1 }
            report(
                Diagnostic(
                    "parse.number", "invalid number literal", at: SourceRange(start: start, end: position),
                    help: "identifiers cannot start with a digit; quote the name with backquotes"))
            _ = end
            return Token(.integer(0), SourceRange(start: start, end: position))
        }
        if !isDecimal, let value = Int64(literal) { return Token(.integer(value), range) }
        let value = Double(literal.hasPrefix(".") ? "0" + literal : literal) ?? .nan
        return Token(.decimal(value), range)
    }

    mutating func lexString(start: Int, quote: UInt8) -> Token {
        position += 1
        var content: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            if byte == quote {
                if position + 1 < bytes.count, bytes[position + 1] == quote {
                    content.append(quote)
                    position += 2
                    continue
                }
                position += 1
                return Token(
                    .string(String(decoding: content, as: UTF8.self)), SourceRange(start: start, end: position))
            }
            if byte == UInt8(ascii: "\\"), position + 1 < bytes.count {
                let escapeStart = position
                let next = bytes[position + 1]
                position += 2
                switch next {
                case UInt8(ascii: "n"): content.append(0x0A)
                case UInt8(ascii: "t"): content.append(0x09)
                case UInt8(ascii: "r"): content.append(0x0D)
                case UInt8(ascii: "b"): content.append(0x08)
                case UInt8(ascii: "f"): content.append(0x0C)
                case UInt8(ascii: "0"): content.append(0x00)
                case UInt8(ascii: "u"):
                    var scalarValue: UInt32 = 0
                    var digits = 0
                    while digits < 4, position < bytes.count, let d = Self.hexValue(bytes[position]) {
                        scalarValue = scalarValue << 4 | d
                        digits += 1
                        position += 1
                    }
                    if digits == 4, let scalar = Unicode.Scalar(scalarValue) {
                        content.append(contentsOf: Array(String(Character(scalar)).utf8))
                    } else {
                        report(
                            Diagnostic(
                                "parse.escape", "invalid \\u escape in string literal",
                                at: SourceRange(start: escapeStart, end: position),
                                help: "write \\u followed by four hex digits"))
                    }
                default:
                    // \\, \', \", and any other character stand for themselves.
                    content.append(next)
                }
                continue
            }
            content.append(byte)
            position += 1
        }
        report(
            Diagnostic(
                "parse.unterminated", "unterminated string literal", at: SourceRange(start: start, end: start + 1),
                help: "close it with \(Character(Unicode.Scalar(quote)))"))
        return Token(.string(String(decoding: content, as: UTF8.self)), SourceRange(start: start, end: position))
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    mutating func lexSymbol(start: Int) -> Token? {
        let byte = bytes[position]
        let next: UInt8? = position + 1 < bytes.count ? bytes[position + 1] : nil
        let symbol: Symbol?
        var length = 1
        switch byte {
        case UInt8(ascii: "("): symbol = .leftParen
        case UInt8(ascii: ")"): symbol = .rightParen
        case UInt8(ascii: "["): symbol = .leftBracket
        case UInt8(ascii: "]"): symbol = .rightBracket
        case UInt8(ascii: "{"): symbol = .leftBrace
        case UInt8(ascii: "}"): symbol = .rightBrace
        case UInt8(ascii: ","): symbol = .comma
        case UInt8(ascii: ":"): symbol = .colon
        case UInt8(ascii: ";"): symbol = .semicolon
        case UInt8(ascii: "*"): symbol = .star
        case UInt8(ascii: "+"): symbol = .plus
        case UInt8(ascii: "-"): symbol = .minus
        case UInt8(ascii: "/"): symbol = .slash
        case UInt8(ascii: "%"): symbol = .percent
        case UInt8(ascii: "="): symbol = .equal
        case UInt8(ascii: "!"):
            if next == UInt8(ascii: "=") {
                symbol = .bangEqual
                length = 2
            } else {
                symbol = nil
            }
        case UInt8(ascii: "<"):
            if next == UInt8(ascii: ">") {
                symbol = .notEqual
                length = 2
            } else if next == UInt8(ascii: "=") {
                symbol = .lessEqual
                length = 2
            } else {
                symbol = .less
            }
        case UInt8(ascii: ">"):
            if next == UInt8(ascii: "=") {
                symbol = .greaterEqual
                length = 2
            } else {
                symbol = .greater
            }
        default: symbol = nil
        }
        if let symbol {
            position += length
            return Token(.symbol(symbol), SourceRange(start: start, end: position))
        }
        // Skip one whole character (it may be multi-byte) and report it.
        position += 1
        while position < bytes.count, bytes[position] & 0xC0 == 0x80 { position += 1 }
        let shown = text(start, position)
        report(
            Diagnostic(
                "parse.character", "unexpected character '\(shown)'", at: SourceRange(start: start, end: position)))
        return nil
    }
}
