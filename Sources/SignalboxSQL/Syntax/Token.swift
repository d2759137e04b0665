/// One token of rule SQL.
package struct Token: Sendable, Hashable {
    /// The kinds of token.
    package enum Kind: Sendable, Hashable {
        case identifier(String)
        /// A backquoted identifier: never a keyword.
        case quotedIdentifier(String)
        case variable(String)
        case integer(Int64)
        case decimal(Double)
        case string(String)
        case keyword(Keyword)
        case symbol(Symbol)
        case endOfInput
    }

    package var kind: Kind
    package var range: SourceRange

    package init(_ kind: Kind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}

/// Reserved words. Matched case-insensitively.
package enum Keyword: String, Sendable, CaseIterable {
    case select = "SELECT"
    case from = "FROM"
    case `where` = "WHERE"
    case `as` = "AS"
    case value = "VALUE"
    case set = "SET"
    case and = "AND"
    case or = "OR"
    case not = "NOT"
    case `case` = "CASE"
    case when = "WHEN"
    case then = "THEN"
    case `else` = "ELSE"
    case end = "END"
    case `true` = "TRUE"
    case `false` = "FALSE"
    case null = "NULL"
    case `in` = "IN"

    static let byUppercasedName: [String: Keyword] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
}

/// Punctuation and operators.
package enum Symbol: String, Sendable, CaseIterable {
    case leftParen = "("
    case rightParen = ")"
    case leftBracket = "["
    case rightBracket = "]"
    case leftBrace = "{"
    case rightBrace = "}"
    case comma = ","
    case dot = "."
    case colon = ":"
    case star = "*"
    case plus = "+"
    case minus = "-"
    case slash = "/"
    case percent = "%"
    case equal = "="
    case notEqual = "<>"
    case bangEqual = "!="
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="
    case semicolon = ";"
}

extension Token.Kind: CustomStringConvertible {
    /// How the token is named in "expected … but found …" messages (never quoting string content).
    package var description: String {
        switch self {
        case .identifier(let name), .quotedIdentifier(let name): "identifier '\(name)'"
        case .variable(let name): "variable '@\(name)'"
        case .integer, .decimal: "number"
        case .string: "string literal"
        case .keyword(let keyword): "'\(keyword.rawValue)'"
        case .symbol(let symbol): "'\(symbol.rawValue)'"
        case .endOfInput: "end of input"
        }
    }
}
