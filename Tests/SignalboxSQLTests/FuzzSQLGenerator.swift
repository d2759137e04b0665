import SignalboxJSON
import SignalboxSQL
import SignalboxTestSupport

/// Generates random rule SQL from a seed: token soups that are mostly wrong, and grammatical
/// statements (every expression form, every built-in function with an accepted argument count)
/// that mostly compile, plus payloads to evaluate them against.
struct FuzzSQLGenerator {
    var random: SeededRandom

    /// Built-in functions with the argument counts they accept (open-ended ones capped).
    static let functions: [(name: String, arity: ClosedRange<Int>)] = BuiltinFunctions.all.values
        .map { ($0.name, $0.minArity...($0.maxArity ?? $0.minArity + 3)) }
        .sorted { $0.name < $1.name }

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    // MARK: Token soup

    static let soupTokens: [String] =
        Keyword.allCases.map(\.rawValue) + Symbol.allCases.map(\.rawValue) + [
            "select", "from", "where", "not", "in", "value", "(", "(", ")", ")", "'#'", "'devices/+/telemetry'",
            "'a/#/b'", "'it''s'", "'\\u00e9'", "'\\u12'", "'unterminated", "\"dq\"", "`quoted id`", "`open", "@v",
            "@", "@1", "0", "1", "-1", "1.5", ".5", "1.", "1e3", "1e", "1x", "99999999999999999999", "temp", "a",
            "b", "state.reported", "x1", "_", "$", "#", "é", "😀", "--comment\n", "/* c */", "/*", "*/", "\\", "?",
            "!", "&&", "||", "cast", "Int", "abs", "concat", "topic", "get", "timestamp", "is", "like", "between",
        ]

    /// Random tokens, often framed as a statement so the parser gets past the first clause.
    mutating func tokenSoup() -> String {
        var parts: [String] = []
        let framed = random.chance(0.6)
        if framed { parts.append("SELECT") }
        for _ in 0..<random.int(0...(random.chance(0.1) ? 200 : 25)) {
            parts.append(random.chance(0.4) ? random.pick(Self.functions).name : random.pick(Self.soupTokens))
        }
        if framed && random.chance(0.7) {
            parts.insert(contentsOf: ["FROM", "'#'", "WHERE"], at: random.int(1...parts.count))
        }
        return parts.joined(separator: random.chance(0.8) ? " " : "")
    }

    // MARK: Grammatical statements

    /// A statement that follows the grammar (it may still fail to compile, e.g. on types).
    mutating func statement() -> String {
        var sql = ""
        var variables: [String] = []
        if random.chance(0.2) {
            let assignments = (1...random.int(1...3)).map { i -> String in
                defer { variables.append("@v\(i)") }
                return "@v\(i) = " + expression(depth: 3, variables: variables)
            }
            sql += "SET " + assignments.joined(separator: ", ") + " "
        }
        sql += "SELECT "
        switch random.int(0...9) {
        case 0: sql += "*"
        case 1: sql += "VALUE " + expression(depth: 4, variables: variables)
        default:
            let items = (1...random.int(1...4)).map { _ -> String in
                if random.chance(0.1) { return "*" }
                let item = expression(depth: 4, variables: variables)
                return random.chance(0.4) ? item + " AS " + random.pick(["out", "a.b", "`x y`", "value", "'s'"]) : item
            }
            sql += items.joined(separator: ", ")
        }
        sql += " FROM '" + random.pick(["#", "devices/+/telemetry", "$aws/things/+/shadow/update", "a/b"]) + "'"
        if random.chance(0.7) { sql += " WHERE " + expression(depth: 4, variables: variables) }
        return sql
    }

    mutating func expression(depth: Int, variables: [String]) -> String {
        if depth <= 0 || random.chance(0.25) { return leaf(variables: variables) }
        let sub = { (g: inout FuzzSQLGenerator) in g.expression(depth: depth - 1, variables: variables) }
        switch random.int(0...12) {
        case 0: return "NOT " + sub(&self)
        case 1: return "-" + sub(&self)
        case 2, 3:
            let op = random.pick(["AND", "OR", "=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"])
            return sub(&self) + " " + op + " " + sub(&self)
        case 4: return "(" + sub(&self) + ")"
        case 5, 6:
            let function = random.pick(Self.functions)
            let arguments = (0..<random.int(function.arity)).map { _ in sub(&self) }
            return function.name + "(" + arguments.joined(separator: ", ") + ")"
        case 7:
            return "cast(" + sub(&self) + " AS " + random.pick(["Int", "Decimal", "Boolean", "String", "bool"]) + ")"
        case 8:
            var text = "CASE " + (random.chance(0.5) ? sub(&self) + " " : "")
            for _ in 0..<random.int(1...3) { text += "WHEN " + sub(&self) + " THEN " + sub(&self) + " " }
            if random.chance(0.5) { text += "ELSE " + sub(&self) + " " }
            return text + "END"
        case 9: return "[" + (0..<random.int(0...3)).map { _ in sub(&self) }.joined(separator: ", ") + "]"
        case 10:
            let members = (0..<random.int(0...3)).map { i in "'k\(i)': " + sub(&self) }
            return "{" + members.joined(separator: ", ") + "}"
        case 11: return sub(&self) + (random.chance(0.3) ? " NOT IN " : " IN ") + sub(&self)
        default:
            let source = random.pick(["arr", "nested.list", "[1, 2, 3]", "*"])
            return "(SELECT VALUE " + random.pick(["*", "x", "a"]) + " FROM " + source
                + (random.chance(0.5) ? " WHERE " + sub(&self) : "") + ")"
        }
    }

    mutating func leaf(variables: [String]) -> String {
        switch random.int(0...9) {
        case 0:
            return String(random.pick([0, 1, -1, 2, 7, 30, 100, 255, Int64.max, Int64.min + 1, 1_732_200_000_123]))
        case 1: return random.pick(["0.5", "4.75", "1e3", "1.5E-3", ".25", "1e308", "99999999999999999999"])
        case 2:
            return random.pick([
                "''", "'a'", "'it''s'", "'devices/f1/telemetry'", "'\\u00e9\\n'", "'😀'", "'%'", "'.*'", "'(a+)+$'",
                "'base64'", "'UTC'", "'yyyy-MM-dd'", "'1.5'", "'10'", "'true'", "'a,b,c'", "'\\\\'", "'-1'",
            ])
        case 3: return random.pick(["TRUE", "FALSE", "NULL"])
        case 4 where !variables.isEmpty: return random.pick(variables)
        default:
            return random.pick([
                "temp", "humidity", "battery", "door", "name", "deviceId", "ts", "missing", "arr", "arr[0]", "arr[-1]",
                "nested.list", "nested.list[1]", "state.reported.x", "`door`", "location.aisle", "tags", "big",
                "neg", "empty", "text", "flag",
            ])
        }
    }

    // MARK: Payloads

    /// A message with a random payload shaped like telemetry, with odd values mixed in.
    mutating func message() -> Message {
        let payload: [UInt8]
        if random.chance(0.1) {
            payload = random.bytes(count: random.int(0...40))
        } else {
            var object = JSONObject()
            let odd: [Value] = [
                nil, true, false, 0, -1, .int(.max), .int(.min), 0.5, -0.0, 1e308, "", "x", "10", "1.5", "😀",
                [], [1, "a", nil], [:], ["x": 1, "list": [1, 2]],
            ]
            for key in [
                "temp", "humidity", "battery", "door", "name", "deviceId", "ts", "arr", "nested", "state",
                "location", "tags", "big", "neg", "empty", "text", "flag",
            ] where random.chance(0.7) {
                object[key] = random.pick(odd)
            }
            payload = JSONSerializer.bytes(.object(object))
        }
        let topic = random.pick(["devices/f1/telemetry", "a/b", "$aws/things/t1/shadow/update", "", "/", "a//b"])
        return Message(topic: topic, payload: payload, clientID: "c1", timestamp: 1_732_200_000_123)
    }
}
