import SignalboxJSON

/// A substitution template: text with `${expression}` parts, evaluated per message.
///
/// As in AWS IoT, expressions see the incoming message (payload attributes, functions such as
/// `topic(2)`) and the statement's SET variables, not SELECT aliases. Values render as text:
/// strings as they are, numbers and booleans in JSON form, objects and arrays as compact JSON,
/// Null as `null`, Undefined as the empty string.
package struct Template: Sendable {
    enum Part: @unchecked Sendable {  // closures capture only immutable compiled state
        case text(String)
        case expression(Evaluator, source: String)
    }

    /// The template as written.
    package let text: String
    let parts: [Part]

    /// Whether the template has no `${…}` parts.
    package var isConstant: Bool {
        parts.allSatisfy {
            if case .text = $0 { return true }
            return false
        }
    }

    /// The `${…}` expressions of `text`, with the byte range of each expression's source inside
    /// `text` (excluding `${` and `}`), or a diagnostic for an unterminated `${`.
    package static func scan(_ text: String) -> (pieces: [(isExpression: Bool, range: Range<Int>)], error: Diagnostic?)
    {
        let bytes = Array(text.utf8)
        var pieces: [(Bool, Range<Int>)] = []
        var i = 0
        var textStart = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") else {
                i += 1
                continue
            }
            if textStart < i { pieces.append((false, textStart..<i)) }
            let exprStart = i + 2
            var j = exprStart
            var depth = 0
            var quote: UInt8?
            var closed = false
            while j < bytes.count {
                let byte = bytes[j]
                if let q = quote {
                    if byte == UInt8(ascii: "\\") {
                        j += 1
                    } else if byte == q {
                        quote = nil
                    }
                } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                    quote = byte
                } else if byte == UInt8(ascii: "{") {
                    depth += 1
                } else if byte == UInt8(ascii: "}") {
                    if depth == 0 {
                        closed = true
                        break
                    }
                    depth -= 1
                }
                j += 1
            }
            guard closed else {
                return (
                    pieces,
                    Diagnostic(
                        "template", "unterminated '${' in substitution template", at: SourceRange(start: i, end: i + 2),
                        help: "close the expression with '}'")
                )
            }
            pieces.append((true, exprStart..<j))
            i = j + 1
            textStart = i
        }
        if textStart < bytes.count { pieces.append((false, textStart..<bytes.count)) }
        return (pieces, nil)
    }

    /// Compiles `text`; diagnostics carry byte ranges within `text`.
    package init(_ text: String, compiler: Compiler) throws(DiagnosticList) {
        let bytes = Array(text.utf8)
        let (pieces, error) = Self.scan(text)
        if let error { throw DiagnosticList([error]) }
        var parts: [Part] = []
        var diagnostics: [Diagnostic] = []
        var compiler = compiler
        for piece in pieces {
            let source = String(decoding: bytes[piece.range], as: UTF8.self)
            guard piece.isExpression else {
                parts.append(.text(source))
                continue
            }
            let shift = { (d: Diagnostic) -> Diagnostic in
                var d = d
                d.range = SourceRange(
                    start: d.range.start + piece.range.lowerBound, end: d.range.end + piece.range.lowerBound)
                return d
            }
            if source.allSatisfy(\.isWhitespace) {
                diagnostics.append(
                    Diagnostic(
                        "template", "empty expression in substitution template",
                        at: SourceRange(start: piece.range.lowerBound - 2, end: piece.range.upperBound + 1)))
                continue
            }
            do {
                let expr = try Parser.parseExpression(source)
                let evaluator = try compiler.compile(expr)
                parts.append(.expression(evaluator, source: source))
            } catch {
                diagnostics.append(contentsOf: error.diagnostics.map(shift))
            }
        }
        if !diagnostics.isEmpty { throw DiagnosticList(diagnostics) }
        self.text = text
        self.parts = parts
    }

    /// Renders the template for the message and variables in `frame`.
    package func render(in frame: EvaluationFrame) throws -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .expression(let evaluator, _):
                out += Self.render(try evaluator(frame))
            }
        }
        return out
    }

    /// How one value is written into a template.
    package static func render(_ value: Value?) -> String {
        switch value {
        case nil: ""
        case .null: "null"
        case .string(let s): s
        default: Conversions.toString(value) ?? ""
        }
    }
}
