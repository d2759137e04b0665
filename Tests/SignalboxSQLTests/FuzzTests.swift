import SignalboxJSON
import SignalboxTestSupport
import Testing

@testable import SignalboxSQL

/// Hostile and random rule SQL: whatever the text, `Statement(...)` and `Parser.parse` return or
/// throw a ``DiagnosticList`` — they never crash or hang — and diagnostics point inside the text.
/// Statements that compile evaluate against random payloads without crashing.
///
/// Every case is reproducible from the seed in the test's arguments.
@Suite(.timeLimit(.minutes(1)))
struct FuzzTests {
    static let seeds: [UInt64] = [1, 2, 0xF00D]

    // MARK: Random input

    @Test(arguments: seeds)
    func randomBytes(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        for _ in 0..<1_500 {
            var bytes = random.bytes(count: random.int(0...(random.chance(0.9) ? 40 : 400)))
            if random.chance(0.5) { bytes = Array("SELECT ".utf8) + bytes }
            if random.chance(0.3) { bytes += Array(" FROM '#'".utf8) }
            let text = String(decoding: bytes, as: UTF8.self)
            compileChecked(text)
            parseExpressionChecked(text)
        }
    }

    @Test(arguments: seeds)
    func randomTokenSoups(seed: UInt64) {
        var generator = FuzzSQLGenerator(seed: seed)
        var compiled = 0
        for _ in 0..<2_500 {
            let sql = generator.tokenSoup()
            if compileChecked(sql) != nil { compiled += 1 }
            parseExpressionChecked(sql)
        }
        #expect(compiled < 2_500)
    }

    /// Grammatical statements over every expression form and built-in function; those that
    /// compile are evaluated against random payloads and topics.
    @Test(arguments: seeds)
    func randomStatementsCompileAndEvaluate(seed: UInt64) {
        var generator = FuzzSQLGenerator(seed: seed)
        var compiled = 0
        let statements = 600
        for _ in 0..<statements {
            let sql = generator.statement()
            guard let statement = compileChecked(sql) else { continue }
            compiled += 1
            for _ in 0..<3 {
                let message = generator.message()
                let frame = statement.makeFrame(for: message, services: Self.services)
                do {
                    _ = try statement.evaluate(in: frame)
                } catch is EvaluationError {
                    // A runtime error (such as `*` with a binary payload) is an allowed outcome.
                } catch {
                    Issue.record("evaluation threw \(type(of: error)) for \(sql)")
                }
            }
        }
        // Most grammatical statements should compile, or the generator is not reaching the evaluator.
        #expect(compiled > statements / 2, "only \(compiled) of \(statements) compiled")
    }

    @Test(arguments: seeds)
    func mutatedStatements(seed: UInt64) {
        var generator = FuzzSQLGenerator(seed: seed &+ 99)
        for _ in 0..<1_000 {
            var bytes = Array(generator.statement().utf8)
            for _ in 0..<generator.random.int(1...3) {
                let position = generator.random.int(0...bytes.count)
                switch generator.random.int(0...3) {
                case 0 where position < bytes.count: bytes.remove(at: position)
                case 1: bytes.insert(generator.random.pick(Array("()[]{}'\"`@.,*-/\\$# \n".utf8)), at: position)
                case 2: bytes.removeLast(bytes.count - position)
                default:
                    bytes.insert(
                        contentsOf: Array(generator.random.pick(FuzzSQLGenerator.soupTokens).utf8), at: position)
                }
            }
            compileChecked(String(decoding: bytes, as: UTF8.self))
        }
    }

    // MARK: Deep and long input

    /// A named piece of SQL; only the name is shown in test output.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var sql: String

        init(_ name: String, _ sql: String) {
            self.name = name
            self.sql = sql
        }

        var testDescription: String { name }
    }

    static let deep = 10_000

    /// Nesting far past the limit is a `too-deep` (or other) diagnostic, not a stack overflow.
    static let deepInputs: [Case] = [
        Case(
            "parentheses",
            "SELECT " + String(repeating: "(", count: deep) + "1" + String(repeating: ")", count: deep) + " FROM 't'"),
        Case("open parentheses", "SELECT " + String(repeating: "(", count: deep) + " FROM 't'"),
        Case("close parentheses", "SELECT 1" + String(repeating: ")", count: deep) + " FROM 't'"),
        Case("NOT", "SELECT a FROM 't' WHERE " + String(repeating: "NOT ", count: deep) + "a"),
        Case("minus", "SELECT " + String(repeating: "- ", count: deep) + "x FROM 't'"),
        Case("minus without spaces", "SELECT " + String(repeating: "-", count: deep) + "x FROM 't'"),
        Case("plus and minus", "SELECT " + String(repeating: "+-", count: deep) + "1 FROM 't'"),
        Case("member path", "SELECT a" + String(repeating: ".b", count: deep) + " FROM 't'"),
        Case("index path", "SELECT a" + String(repeating: "[0]", count: deep) + " FROM 't'"),
        Case(
            "nested index",
            "SELECT a" + String(repeating: "[a", count: deep) + String(repeating: "]", count: deep) + " FROM 't'"),
        Case(
            "arrays",
            "SELECT " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + " FROM 't'"),
        Case(
            "objects",
            "SELECT " + String(repeating: "{'a': ", count: deep) + "1" + String(repeating: "}", count: deep)
                + " FROM 't'"),
        Case("CASE", "SELECT " + String(repeating: "CASE WHEN ", count: deep) + " FROM 't'"),
        Case(
            "calls",
            "SELECT " + String(repeating: "abs(", count: deep) + "1" + String(repeating: ")", count: deep) + " FROM 't'"
        ),
        Case(
            "casts",
            "SELECT " + String(repeating: "cast(", count: deep) + "1" + String(repeating: " AS Int)", count: deep)
                + " FROM 't'"),
        Case(
            "subqueries",
            "SELECT " + String(repeating: "(SELECT VALUE ", count: deep) + "1"
                + String(repeating: " FROM a)", count: deep) + " FROM 't'"),
        Case("NOT IN", "SELECT a FROM 't' WHERE " + String(repeating: "NOT a NOT IN ", count: deep) + "a"),
        Case("AND chain", "SELECT a FROM 't' WHERE a" + String(repeating: " AND a", count: deep)),
        Case("OR chain", "SELECT a FROM 't' WHERE a" + String(repeating: " OR a", count: deep)),
        Case("+ chain", "SELECT 1" + String(repeating: " + a", count: deep) + " FROM 't'"),
        Case("comparison chain", "SELECT 1" + String(repeating: " = a", count: deep) + " FROM 't'"),
        Case("IN chain", "SELECT a" + String(repeating: " IN a", count: deep) + " FROM 't'"),
        Case("SET", "SET " + (0..<deep).map { "@v\($0) = 1" }.joined(separator: ", ") + " SELECT 1 FROM 't'"),
    ]

    @Test(arguments: deepInputs)
    func deepNestingIsRejected(_ input: Case) {
        compileChecked(input.sql)
        parseExpressionChecked(String(input.sql.dropFirst("SELECT ".count)))
    }

    static let longInputs: [Case] = [
        Case("many items", "SELECT " + Array(repeating: "a", count: deep).joined(separator: ", ") + " FROM 't'"),
        Case("long array", "SELECT [" + Array(repeating: "1", count: deep).joined(separator: ",") + "] FROM 't'"),
        Case("long identifier", "SELECT " + String(repeating: "a", count: 100_000) + " FROM 't'"),
        Case("long string", "SELECT '" + String(repeating: "é", count: 100_000) + "' FROM 't'"),
        Case("long comment", "SELECT 1 /*" + String(repeating: "*", count: 100_000) + "*/ FROM 't'"),
        Case("unterminated comment", "SELECT 1 FROM 't' /*" + String(repeating: "x", count: 100_000)),
        Case("unterminated string", "SELECT '" + String(repeating: "\\", count: 100_001)),
        Case("long number", "SELECT " + String(repeating: "9", count: 100_000) + " FROM 't'"),
        Case("long topic", "SELECT 1 FROM '" + String(repeating: "a/", count: 50_000) + "#'"),
        Case("many WHEN", "SELECT CASE " + String(repeating: "WHEN a THEN 1 ", count: deep) + "END FROM 't'"),
        Case(
            "many arguments",
            "SELECT concat(" + Array(repeating: "'a'", count: deep).joined(separator: ",") + ") FROM 't'"),
        Case("only whitespace", String(repeating: " \n\t", count: 100_000)),
        Case("many lines", String(repeating: "\n", count: 100_000) + "SELECT ) FROM 't'"),
    ]

    @Test(arguments: longInputs)
    func longInputFinishes(_ input: Case) {
        let start = ContinuousClock.now
        compileChecked(input.sql)
        // Loose (the suite shares two cores): a quadratic pass over these inputs takes minutes.
        #expect(ContinuousClock.now - start < .seconds(20), "\(input.name) was slow")
    }

    /// Found by this suite: the lexer once recursed per unknown character, so a long run of them
    /// overflowed the stack.
    @Test(
        arguments: [
            Case("unknown characters", "SELECT " + String(repeating: "#", count: 100_000) + " FROM 't'"),
            Case("unknown multi-byte characters", "SELECT " + String(repeating: "é", count: 100_000) + " FROM 't'"),
        ])
    func longRunsOfUnknownCharacters(_ input: Case) {
        compileChecked(input.sql)
    }

    /// Operator chains up to the parser's chain limit compile and evaluate on a test thread.
    @Test(arguments: ["AND", "OR", "+", "*", "=", "<>", "IN"])
    func longChainsUpToTheLimitEvaluate(_ op: String) throws {
        let message = Message(topic: "t", payload: Array(#"{"a": 2, "b": [2]}"#.utf8), timestamp: 0)
        var longest = 0
        for length in [10, 50, 100, 200, 250, 255] {
            let operand = op == "IN" ? "b" : "a"
            guard
                let statement = try? Statement(
                    "SELECT VALUE a" + String(repeating: " \(op) \(operand)", count: length) + " FROM '#'")
            else { break }
            longest = length
            _ = try statement.evaluate(in: statement.makeFrame(for: message, services: Self.services))
        }
        #expect(longest >= 100)
    }

    /// An expression built by repeating `open` and `close` around `leaf`.
    struct Nesting: Sendable, CustomTestStringConvertible {
        var name: String
        var open: String
        var leaf: String
        var close: String

        func callAsFunction(_ repeats: Int) -> String {
            String(repeating: open, count: repeats) + leaf + String(repeating: close, count: repeats)
        }

        var testDescription: String { name }
    }

    /// Expressions nested just under the limit compile and evaluate on a test thread, in debug.
    @Test(arguments: [
        Nesting(name: "parentheses", open: "(", leaf: "temp", close: ")"),
        Nesting(name: "NOT", open: "NOT ", leaf: "door", close: ""),
        Nesting(name: "minus", open: "- ", leaf: "temp", close: ""),
        Nesting(name: "calls", open: "abs(", leaf: "temp", close: ")"),
        Nesting(name: "arrays", open: "[", leaf: "temp", close: "]"),
        Nesting(name: "CASE", open: "CASE WHEN door THEN ", leaf: "1", close: " END"),
        Nesting(name: "mixed", open: "NOT (abs(-[", leaf: "temp", close: "][0]) > 1)"),
    ])
    func nestingUpToTheLimitEvaluates(_ nest: Nesting) throws {
        var deepest = 0
        for repeats in 1...Parser.defaultMaxDepth {
            guard let statement = try? Statement("SELECT VALUE " + nest(repeats) + " FROM '#'") else { break }
            deepest = repeats
            let message = Message(topic: "t", payload: Array(#"{"temp": -4.5, "door": true}"#.utf8), timestamp: 0)
            _ = try statement.evaluate(in: statement.makeFrame(for: message, services: Self.services))
        }
        #expect(deepest > 0)
        #expect(throws: DiagnosticList.self) {
            try Statement("SELECT VALUE " + nest(Parser.defaultMaxDepth * 4) + " FROM '#'")
        }
    }

    /// A lone `@` at the very end is reported inside the text (this suite once found its range
    /// ending one byte past the text).
    @Test func variableSignAtTheEndStaysInsideTheText() {
        for sql in ["SELECT 1 FROM 't' WHERE @", "SELECT @"] {
            do {
                _ = try Statement(sql)
                Issue.record("compiled")
            } catch let error as DiagnosticList {
                let range = error.diagnostics.first?.range
                #expect(range == SourceRange(start: sql.utf8.count - 1, end: sql.utf8.count))
            } catch {
                Issue.record("threw \(type(of: error))")
            }
        }
    }

    // MARK: Helpers

    static let services = EvaluationServices(now: { 1_732_200_000_123 }, uuid: { "uuid" }, random: { 0.5 })

    /// Compiles `sql`, checking that failure is a non-empty ``DiagnosticList`` whose ranges lie in
    /// the text and that renders. Returns the statement when it compiles.
    @discardableResult
    func compileChecked(_ sql: String, sourceLocation: SourceLocation = #_sourceLocation) -> Statement? {
        do {
            return try Statement(sql)
        } catch {
            checkDiagnostics(error, in: sql, sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Parses `text` as a lone expression (as substitution templates do), with the same checks.
    func parseExpressionChecked(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Parser.parseExpression(text)
        } catch {
            checkDiagnostics(error, in: text, sourceLocation: sourceLocation)
        }
    }

    func checkDiagnostics(_ list: DiagnosticList, in text: String, sourceLocation: SourceLocation) {
        #expect(!list.diagnostics.isEmpty, sourceLocation: sourceLocation)
        let count = text.utf8.count
        for diagnostic in list.diagnostics {
            #expect(!diagnostic.code.isEmpty && !diagnostic.message.isEmpty, sourceLocation: sourceLocation)
            let range = diagnostic.range
            #expect(
                0 <= range.start && range.start <= range.end && range.end <= count,
                "\(diagnostic.code) range \(range) outside text of \(count) bytes", sourceLocation: sourceLocation)
        }
        if count < 10_000 {
            // Rendering costs O(text) per diagnostic; the first few exercise it well enough.
            let rendered = DiagnosticRenderer.render(
                Array(list.diagnostics.prefix(4)), in: SourceText(name: "<sql>", text: text))
            #expect(rendered.hasPrefix("error: "), sourceLocation: sourceLocation)
        }
    }
}
