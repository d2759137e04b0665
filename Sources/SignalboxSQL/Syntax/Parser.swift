import SignalboxJSON

/// Parses rule SQL into a ``Query``.
///
/// Clauses are parsed by recursive descent; expressions by precedence climbing over one operator
/// table (``Expr/BinaryOperator/precedence``). Nesting deeper than ``Parser/maxDepth`` is a
/// diagnostic, never a stack overflow.
package struct Parser {
    /// The deepest nesting of expressions accepted.
    package static let defaultMaxDepth = 64

    var tokens: [Token]
    /// The statement's bytes, to recover how names that are keywords were spelled.
    let sourceBytes: [UInt8]
    var index = 0
    /// Nesting depth of the expression being parsed.
    var depth = 0
    /// Operators and path steps in the chains on the current path: together with `depth`, a
    /// bound on the height of the tree (long `a + b + c …` chains nest without parentheses).
    var chainLength = 0
    let maxDepth: Int

    /// Parses a whole statement: `[SET …] SELECT … FROM '…' [WHERE …]`.
    ///
    /// - Throws: every lexical problem, or the first syntax error, as a ``DiagnosticList``.
    package static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(DiagnosticList) -> Query {
        var lexer = Lexer(text)
        let tokens = lexer.tokenize()
        if !lexer.diagnostics.isEmpty { throw DiagnosticList(lexer.diagnostics) }
        var parser = Parser(tokens: tokens, source: text, maxDepth: maxDepth)
        do {
            var query = try parser.parseStatement()
            query.comments = lexer.comments
            return query
        } catch {
            throw DiagnosticList([error])
        }
    }

    /// Parses a lone expression (as inside `${…}` substitution templates).
    package static func parseExpression(_ text: String, maxDepth: Int = defaultMaxDepth) throws(DiagnosticList) -> Expr
    {
        var lexer = Lexer(text)
        let tokens = lexer.tokenize()
        if !lexer.diagnostics.isEmpty { throw DiagnosticList(lexer.diagnostics) }
        var parser = Parser(tokens: tokens, source: text, maxDepth: maxDepth)
        do {
            let expr = try parser.parseExpression()
            try parser.expectEnd()
            return expr
        } catch {
            throw DiagnosticList([error])
        }
    }

    init(tokens: [Token], source: String, maxDepth: Int) {
        self.tokens = tokens
        self.sourceBytes = Array(source.utf8)
        self.maxDepth = maxDepth
    }

    // MARK: Token access

    var current: Token { tokens[index] }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func isKeyword(_ keyword: Keyword) -> Bool {
        if case .keyword(keyword) = current.kind { return true }
        return false
    }

    func isSymbol(_ symbol: Symbol) -> Bool {
        if case .symbol(symbol) = current.kind { return true }
        return false
    }

    mutating func accept(_ keyword: Keyword) -> Bool {
        guard isKeyword(keyword) else { return false }
        _ = advance()
        return true
    }

    mutating func accept(_ symbol: Symbol) -> Bool {
        guard isSymbol(symbol) else { return false }
        _ = advance()
        return true
    }

    func unexpected(_ expected: String, help: String? = nil) -> Diagnostic {
        Diagnostic(
            "parse", "expected \(expected), found \(current.kind)", at: current.range, help: help ?? helpForCurrent())
    }

    /// Hints for common mistakes carried over from other SQL dialects.
    func helpForCurrent() -> String? {
        switch current.kind {
        case .symbol(.bangEqual): return "AWS IoT SQL writes 'not equal' as <>"
        case .identifier(let name) where name.lowercased() == "is":
            return "AWS IoT SQL has no IS NULL; use isNull(x) or isUndefined(x)"
        case .identifier(let name) where ["like", "between"].contains(name.lowercased()):
            return "AWS IoT SQL has no \(name.uppercased()); use regexp_matches() or comparisons"
        case .symbol(.semicolon): return "a rule is a single statement; remove the ';'"
        default: return nil
        }
    }

    mutating func expect(_ symbol: Symbol, _ what: String? = nil) throws(Diagnostic) -> Token {
        guard isSymbol(symbol) else { throw unexpected(what ?? "'\(symbol.rawValue)'") }
        return advance()
    }

    mutating func expect(_ keyword: Keyword) throws(Diagnostic) -> Token {
        guard isKeyword(keyword) else { throw unexpected("'\(keyword.rawValue)'") }
        return advance()
    }

    mutating func expectEnd() throws(Diagnostic) {
        guard case .endOfInput = current.kind else { throw unexpected("end of the statement") }
    }

    mutating func enter(_ range: SourceRange) throws(Diagnostic) {
        depth += 1
        if depth > maxDepth {
            throw Diagnostic(
                "too-deep", "expression nested more than \(maxDepth) levels deep", at: range,
                help: "simplify the expression or split it with SET variables")
        }
    }

    /// Counts one more operator or path step on the current path.
    mutating func extendChain(_ range: SourceRange) throws(Diagnostic) {
        chainLength += 1
        if depth + chainLength > maxDepth * 4 {
            throw Diagnostic(
                "too-deep", "expression too long: more than \(maxDepth * 4) operators in a row", at: range,
                help: "split it with SET variables")
        }
    }

    // MARK: Statements

    mutating func parseStatement() throws(Diagnostic) -> Query {
        let query = try parseQuery(nested: false)
        try expectEnd()
        return query
    }

    mutating func parseQuery(nested: Bool) throws(Diagnostic) -> Query {
        let start = current.range
        var assignments: [Query.Assignment] = []
        if isKeyword(.set) {
            if nested {
                throw Diagnostic("parse", "SET is not allowed in a nested query", at: current.range)
            }
            _ = advance()
            repeat {
                guard case .variable(let name) = current.kind else { throw unexpected("a variable such as @limit") }
                let nameToken = advance()
                _ = try expect(.equal, "'=' after the variable name")
                let value = try parseExpression()
                assignments.append(Query.Assignment(name: name, nameRange: nameToken.range, value: value))
            } while accept(.comma)
            if isKeyword(.set) {
                throw Diagnostic(
                    "parse", "SET may appear only once", at: current.range,
                    help: "separate assignments with commas: SET @a = …, @b = …")
            }
        }
        guard isKeyword(.select) else {
            throw unexpected(assignments.isEmpty ? "SELECT" : "',' or SELECT")
        }
        let selectRange = advance().range
        let projection: Query.Projection
        if accept(.value) {
            projection = .value(try parseExpression())
        } else {
            var items: [Query.Item] = []
            repeat {
                items.append(try parseSelectItem())
            } while accept(.comma)
            projection = .items(items)
        }
        _ = try expect(.from)
        let source: Query.Source
        if nested {
            source = .expression(try parseExpression())
        } else {
            guard case .string(let filter) = current.kind else {
                throw unexpected(
                    "a topic filter in quotes",
                    help: "enclose the topic filter in single quotes: FROM 'devices/+/telemetry'")
            }
            source = .topic(filter, advance().range)
        }
        var condition: Expr?
        if accept(.where) {
            condition = try parseExpression()
        }
        let end = tokens[max(0, index - 1)].range
        return Query(
            assignments: assignments, projection: projection, source: source, condition: condition,
            range: start.union(end), selectRange: selectRange)
    }

    mutating func parseSelectItem() throws(Diagnostic) -> Query.Item {
        if isSymbol(.star) {
            let range = advance().range
            return .wildcard(range)
        }
        let expr = try parseExpression()
        guard accept(.as) else { return .expression(expr, alias: nil, aliasRange: nil) }
        var path: [String] = []
        var range = current.range
        repeat {
            switch current.kind {
            case .identifier(let name), .quotedIdentifier(let name), .string(let name):
                path.append(name)
            case .keyword:
                path.append(sourceText(current.range))
            default:
                throw unexpected("a name after AS")
            }
            range = range.union(advance().range)
        } while accept(.dot)
        return .expression(expr, alias: path, aliasRange: range)
    }

    // MARK: Expressions

    /// Parses an expression by precedence climbing.
    package mutating func parseExpression() throws(Diagnostic) -> Expr {
        try parseBinary(minPrecedence: 1)
    }

    func binaryOperator() -> Expr.BinaryOperator? {
        switch current.kind {
        case .keyword(.or): .or
        case .keyword(.and): .and
        case .symbol(.equal): .equal
        case .symbol(.notEqual): .notEqual
        case .symbol(.less): .less
        case .symbol(.lessEqual): .lessEqual
        case .symbol(.greater): .greater
        case .symbol(.greaterEqual): .greaterEqual
        case .symbol(.plus): .add
        case .symbol(.minus): .subtract
        case .symbol(.star): .multiply
        case .symbol(.slash): .divide
        case .symbol(.percent): .modulo
        default: nil
        }
    }

    static let comparisonPrecedence = 4
    static let notPrecedence = 3

    mutating func parseBinary(minPrecedence: Int) throws(Diagnostic) -> Expr {
        try enter(current.range)
        let chainAtStart = chainLength
        defer {
            depth -= 1
            chainLength = chainAtStart
        }
        var lhs = try parsePrefix(minPrecedence: minPrecedence)
        while true {
            try extendChain(current.range)
            // [NOT] IN binds like a comparison.
            if Self.comparisonPrecedence >= minPrecedence, isKeyword(.in) || (isKeyword(.not) && nextIsIn()) {
                let negated = accept(.not)
                _ = advance()  // IN
                let rhs = try parseBinary(minPrecedence: Self.comparisonPrecedence + 1)
                lhs = Expr(.inList(lhs, rhs, negated: negated), lhs.range.union(rhs.range))
                continue
            }
            guard let op = binaryOperator(), op.precedence >= minPrecedence else {
                if helpForCurrent() != nil, case .symbol = current.kind { throw unexpected("an operator") }
                if case .identifier(let name) = current.kind, ["is", "like", "between"].contains(name.lowercased()) {
                    throw unexpected("an operator")
                }
                return lhs
            }
            _ = advance()
            // All binary operators are left-associative.
            let rhs = try parseBinary(minPrecedence: op.precedence + 1)
            lhs = Expr(.binary(op, lhs, rhs), lhs.range.union(rhs.range))
        }
    }

    func nextIsIn() -> Bool {
        guard index + 1 < tokens.count, case .keyword(.in) = tokens[index + 1].kind else { return false }
        return true
    }

    mutating func parsePrefix(minPrecedence: Int) throws(Diagnostic) -> Expr {
        let start = current.range
        if isKeyword(.not) && minPrecedence <= Self.notPrecedence {
            _ = advance()
            let operand = try parseBinary(minPrecedence: Self.notPrecedence)
            return Expr(.unary(.not, operand), start.union(operand.range))
        }
        if isKeyword(.not) {
            // `a = NOT b`: NOT as an operand binds its own comparison-level expression.
            _ = advance()
            let operand = try parseBinary(minPrecedence: Self.comparisonPrecedence + 1)
            return Expr(.unary(.not, operand), start.union(operand.range))
        }
        if isSymbol(.minus) || isSymbol(.plus) {
            let isMinus = isSymbol(.minus)
            _ = advance()
            try enter(start)
            defer { depth -= 1 }
            let operand = try parsePrefix(minPrecedence: 7)
            let range = start.union(operand.range)
            // Fold negative literals at once so `-5` is a literal.
            if isMinus, case .literal(let value) = operand.kind {
                switch value {
                case .int(let i) where i != .min: return Expr(.literal(.int(-i)), range)
                case .double(let d): return Expr(.literal(.double(-d)), range)
                default: break
                }
            }
            return Expr(.unary(isMinus ? .negate : .plus, operand), range)
        }
        return try parsePostfix(try parsePrimary())
    }

    mutating func parsePostfix(_ base: Expr) throws(Diagnostic) -> Expr {
        var expr = base
        while true {
            try extendChain(current.range)
            if accept(.dot) {
                let name: String
                switch current.kind {
                case .identifier(let n), .quotedIdentifier(let n): name = n
                case .keyword: name = sourceText(current.range)
                case .integer:
                    throw unexpected(
                        "a name after '.'",
                        help: "keys that are numbers need get(): get(x, \"\(sourceText(current.range))\")")
                default: throw unexpected("a name after '.'")
                }
                let token = advance()
                expr = Expr(.member(expr, name), expr.range.union(token.range))
            } else if isSymbol(.leftBracket) {
                _ = advance()
                let index = try parseExpression()
                let close = try expect(.rightBracket, "']'")
                expr = Expr(.index(expr, index), expr.range.union(close.range))
            } else {
                return expr
            }
        }
    }

    func sourceText(_ range: SourceRange) -> String {
        String(decoding: sourceBytes[range.start..<range.end], as: UTF8.self)
    }

    mutating func parsePrimary() throws(Diagnostic) -> Expr {
        let token = current
        switch token.kind {
        case .integer(let i):
            _ = advance()
            return Expr(.literal(.int(i)), token.range)
        case .decimal(let d):
            _ = advance()
            return Expr(.literal(.double(d)), token.range)
        case .string(let s):
            _ = advance()
            return Expr(.literal(.string(s)), token.range)
        case .keyword(.true):
            _ = advance()
            return Expr(.literal(.bool(true)), token.range)
        case .keyword(.false):
            _ = advance()
            return Expr(.literal(.bool(false)), token.range)
        case .keyword(.null):
            _ = advance()
            return Expr(.literal(.null), token.range)
        case .variable(let name):
            _ = advance()
            return Expr(.variable(name), token.range)
        case .quotedIdentifier(let name):
            _ = advance()
            return Expr(.attribute(name), token.range)
        case .identifier(let name):
            _ = advance()
            if isSymbol(.leftParen) { return try parseCall(name: name, nameRange: token.range) }
            return Expr(.attribute(name), token.range)
        case .symbol(.star):
            _ = advance()
            return Expr(.wildcard, token.range)
        case .symbol(.leftParen):
            _ = advance()
            if isKeyword(.select) {
                let query = try parseQuery(nested: true)
                let close = try expect(.rightParen, "')' to close the nested query")
                return Expr(.subquery(query), token.range.union(close.range))
            }
            var inner = try parseExpression()
            let close = try expect(.rightParen, "')'")
            inner.range = token.range.union(close.range)
            return inner
        case .symbol(.leftBracket):
            _ = advance()
            var elements: [Expr] = []
            if !isSymbol(.rightBracket) {
                repeat { elements.append(try parseExpression()) } while accept(.comma)
            }
            let close = try expect(.rightBracket, "',' or ']'")
            return Expr(.array(elements), token.range.union(close.range))
        case .symbol(.leftBrace):
            _ = advance()
            var members: [Expr.ObjectMember] = []
            if !isSymbol(.rightBrace) {
                repeat {
                    let key: String
                    switch current.kind {
                    case .string(let k), .identifier(let k), .quotedIdentifier(let k): key = k
                    default: throw unexpected("an object key in quotes")
                    }
                    _ = advance()
                    _ = try expect(.colon, "':' after the object key")
                    members.append(Expr.ObjectMember(key: key, value: try parseExpression()))
                } while accept(.comma)
            }
            let close = try expect(.rightBrace, "',' or '}'")
            return Expr(.object(members), token.range.union(close.range))
        case .keyword(.case):
            return try parseCase()
        case .keyword(let keyword):
            throw Diagnostic(
                "parse", "expected an expression, found '\(keyword.rawValue)'", at: token.range,
                help: keyword == .value
                    ? "to use an attribute named '\(sourceText(token.range))', write it in backquotes: `\(sourceText(token.range))`"
                    : nil)
        case .endOfInput:
            throw Diagnostic("parse", "expected an expression, found end of input", at: token.range)
        default:
            throw unexpected("an expression")
        }
    }

    mutating func parseCall(name: String, nameRange: SourceRange) throws(Diagnostic) -> Expr {
        _ = advance()  // (
        if name.lowercased() == "cast" {
            let value = try parseExpression()
            guard accept(.as) else { throw unexpected("AS in cast(value AS type)") }
            let typeToken = current
            let typeName: String
            switch typeToken.kind {
            case .identifier(let n), .quotedIdentifier(let n): typeName = n
            default: throw unexpected("a type name (Int, Decimal, Boolean, String)")
            }
            _ = advance()
            guard let type = Cast.type(named: typeName) else {
                let suggestion = Suggestion.closest(to: typeName, in: Cast.typeNames)
                throw Diagnostic(
                    "unknown-type", "unknown cast type '\(typeName)'", at: typeToken.range,
                    help: suggestion.map { "did you mean '\($0)'?" } ?? "use Int, Decimal, Boolean or String")
            }
            let close = try expect(.rightParen, "')'")
            return Expr(.cast(value, type), nameRange.union(close.range))
        }
        var arguments: [Expr] = []
        if !isSymbol(.rightParen) {
            repeat { arguments.append(try parseExpression()) } while accept(.comma)
        }
        let close = try expect(.rightParen, "',' or ')'")
        return Expr(.call(name: name, nameRange: nameRange, arguments: arguments), nameRange.union(close.range))
    }

    mutating func parseCase() throws(Diagnostic) -> Expr {
        let start = advance().range  // CASE
        var subject: Expr?
        if !isKeyword(.when) { subject = try parseExpression() }
        var whens: [Expr.WhenClause] = []
        while accept(.when) {
            let condition = try parseExpression()
            _ = try expect(.then)
            let result = try parseExpression()
            whens.append(Expr.WhenClause(condition: condition, result: result))
        }
        if whens.isEmpty { throw unexpected("WHEN", help: "a CASE needs at least one WHEN … THEN …") }
        var otherwise: Expr?
        if accept(.else) { otherwise = try parseExpression() }
        let end = try expect(.end)
        return Expr(.caseWhen(subject: subject, whens: whens, otherwise: otherwise), start.union(end.range))
    }
}
