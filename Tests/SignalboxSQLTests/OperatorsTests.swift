import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// The operator type tables of the AWS IoT SQL reference, row by row. `U` stands for Undefined.
struct OperatorsTests {
    static let U: Value? = nil

    struct Row: CustomStringConvertible, Sendable {
        var expression: String
        var payload: String
        var expected: Value?
        var description: String { "\(expression) with \(payload)" }
        init(
            _ expression: String, _ expected: Value?,
            payload: String = #"{"i":5,"d":2.5,"s":"abc","n":"3","b":true,"nul":null,"a":[1,2],"o":{"k":1}}"#
        ) {
            self.expression = expression
            self.payload = payload
            self.expected = expected
        }
    }

    static let logicRows: [Row] = [
        // AND: Boolean/Boolean, "true"/"false" strings in any case, anything else Undefined.
        Row("true AND true", true), Row("true AND false", false), Row("false AND false", false),
        Row("'TRUE' AND true", true), Row("'false' AND 'True'", false), Row("'yes' AND true", U),
        Row("1 AND true", U), Row("nul AND true", U), Row("missing AND true", U), Row("false AND missing", U),
        // OR
        Row("true OR false", true), Row("false OR false", false), Row("'true' OR false", true),
        Row("1 OR true", U), Row("missing OR true", U), Row("a OR true", U),
        // NOT
        Row("NOT true", false), Row("NOT false", true), Row("NOT 'FALSE'", true), Row("NOT 1", U),
        Row("NOT missing", U), Row("NOT nul", U),
    ]

    static let comparisonRows: [Row] = [
        Row("5 > 3", true), Row("3 > 5", false), Row("2.5 > 2", true), Row("i > d", true),
        Row("'10' > 9", true), Row("'10' > '9'", true), Row("n >= 3", true), Row("'abc' > 1", U),
        Row("s > 'abd'", U), Row("true > false", U), Row("nul > 1", U), Row("missing > 1", U),
        Row("a > 1", U), Row("o > 1", U), Row("5 >= 5", true), Row("4 >= 5", false),
        Row("4 < 5", true), Row("5 < 5", false), Row("'-1.5' < 0", true), Row("5 <= 5", true),
        Row("'5E-1' <= 0.5", true), Row("6 <= 5", false), Row("i < missing", U),
    ]

    static let equalityRows: [Row] = [
        Row("5 = 5", true), Row("5 = 6", false), Row("5 = 5.0", true), Row("2.5 = 2.5", true),
        Row("'a' = 'a'", true), Row("'a' = 'A'", false), Row("true = true", true), Row("true = false", false),
        Row("nul = null", true), Row("[1,2] = [1,2]", true), Row("[1,2] = [2,1]", false), Row("a = [1,2]", true),
        Row("{'x':1,'y':2} = {'y':2,'x':1}", true), Row("o = {'k':1.0}", true), Row("'5' = 5", false),
        Row("true = 1", false), Row("nul = 0", false), Row("missing = 1", U), Row("1 = missing", U),
        // Int against Decimal is exact: 2^53 + 1 is not the Decimal 2^53.
        Row("9007199254740993 = 9007199254740992.0", false), Row("9007199254740992 = 9007199254740992.0", true),
        Row("5 = 5.5", false),
        Row("5 <> 6", true), Row("5 <> 5", false), Row("5 <> 5.0", false), Row("'a' <> 'b'", true),
        Row("null <> null", false), Row("[1,2] <> [2,1]", true), Row("'5' <> 5", true), Row("missing <> 1", U),
        Row("1 <> missing", U),
    ]

    static let arithmeticRows: [Row] = [
        // +
        Row("1 + 2", 3), Row("1 + 2.5", 3.5), Row("2.5 + 2.5", 5.0), Row("'a' + 'b'", "ab"), Row("'a' + 1", "a1"),
        Row("1 + 'a'", "1a"), Row("'1' + 2", "12"), Row("s + true", "abctrue"), Row("s + a", "abc[1,2]"),
        Row("s + o", #"abc{"k":1}"#), Row("s + 2.5", "abc2.5"), Row("s + nul", U), Row("s + missing", U),
        Row("true + 1", U), Row("nul + 1", U), Row("a + 1", U), Row("missing + 1", U),
        Row("9223372036854775807 + 1", .double(9.223372036854775808e18)),
        // -
        Row("5 - 3", 2), Row("5 - 0.5", 4.5), Row("'5' - 3", 2.0), Row("'x' - 3", U), Row("true - 1", U),
        Row("nul - 1", U), Row("-i", -5), Row("-d", -2.5), Row("-n", -3.0), Row("-s", U), Row("- - 5", 5),
        // *
        Row("4 * 3", 12), Row("4 * 0.5", 2.0), Row("'4' * '2'", 8.0), Row("'4' * 'x'", U), Row("o * 1", U),
        // /
        Row("7 / 2", 3), Row("-7 / 2", -3), Row("7 / 2.0", 3.5), Row("'7' / 2", 3.5), Row("7 / 0", U),
        Row("7.0 / 0", U), Row("b / 1", U), Row("(50 - 32) * 5 / 9", 10),
        // %
        Row("8 % 3", 2), Row("-8 % 3", -2), Row("8 % -3", 2), Row("8.5 % 3", 2.5), Row("'8' % 3", 2.0),
        Row("8 % 0", U), Row("a % 2", U),
        // precedence
        Row("1 + 2 * 3", 7), Row("(1 + 2) * 3", 9), Row("10 - 4 - 3", 3), Row("2 * 3 % 4", 2),
        Row("NOT 1 = 2", true), Row("1 < 2 AND 2 < 3 OR false", true), Row("false AND true OR true", true),
        Row("true OR true AND false", true),
    ]

    static let membershipRows: [Row] = [
        Row("2 IN [1,2,3]", true), Row("4 IN [1,2,3]", false), Row("2.0 IN a", true), Row("'x' IN ['x']", true),
        Row("4 NOT IN [1,2,3]", true), Row("missing IN [1]", U), Row("1 IN 'abc'", U), Row("s IN o", U),
    ]

    @Test(arguments: logicRows)
    func logic(_ row: Row) throws {
        #expect(try value(row.expression, payload: row.payload) == row.expected)
    }

    @Test(arguments: comparisonRows)
    func comparison(_ row: Row) throws {
        #expect(try value(row.expression, payload: row.payload) == row.expected)
    }

    @Test(arguments: equalityRows)
    func equality(_ row: Row) throws {
        #expect(try value(row.expression, payload: row.payload) == row.expected)
    }

    @Test(arguments: arithmeticRows)
    func arithmetic(_ row: Row) throws {
        #expect(try value(row.expression, payload: row.payload) == row.expected)
    }

    @Test(arguments: membershipRows)
    func membership(_ row: Row) throws {
        #expect(try value(row.expression, payload: row.payload) == row.expected)
    }

    /// The operators give the same results when folded at compile time as at run time.
    @Test(arguments: arithmeticRows + comparisonRows + equalityRows)
    func constantFoldingAgreesWithEvaluation(_ row: Row) throws {
        let payload = try JSONParser.parse(row.payload)
        guard case .object(let object) = payload else { return }
        // Replace attribute names by their values, as literals, so the whole expression folds.
        var expression = row.expression
        for member in object.members where !["a", "o"].contains(member.key) {
            let literal: String
            switch member.value {
            case .string(let s): literal = "'\(s)'"
            default: literal = member.value.description
            }
            expression = expression.replacingWholeWord(member.key, with: literal)
        }
        #expect(try value(expression, payload: row.payload) == row.expected, "\(expression)")
    }
}

extension String {
    func replacingWholeWord(_ word: String, with replacement: String) -> String {
        var result = ""
        var current = ""
        var inQuote = false
        for character in self {
            if character == "'" { inQuote.toggle() }
            if !inQuote && (character.isLetter || character == "_") {
                current.append(character)
            } else {
                result += (current == word ? replacement : current)
                current = ""
                result.append(character)
            }
        }
        result += (current == word ? replacement : current)
        return result
    }
}

/// Conversions and casts, per the data-types and cast tables.
struct ConversionsTests {
    static let U: Value? = nil

    @Test(
        arguments: [
            ("cast(5 AS Decimal)", Value.int(5)), ("cast(2.5 AS Decimal)", 2.5), ("cast(10.0 AS Decimal)", 10),
            ("cast(true AS Decimal)", 1.0), ("cast('1.5' AS Decimal)", 1.5), ("cast('x' AS Decimal)", nil),
            ("cast(2.7 AS Int)", 2), ("cast(-2.7 AS Int)", -3), ("cast('1.5' AS Int)", 1), ("cast(true AS Int)", 1),
            ("cast(false AS Integer)", 0), ("cast(null AS Int)", nil), ("cast([1] AS Int)", nil),
            ("cast(0 AS Boolean)", false), ("cast(2 AS Bool)", true), ("cast(0.0 AS Boolean)", false),
            ("cast('TRUE' AS Boolean)", true), ("cast('yes' AS Boolean)", nil), ("cast(null AS Boolean)", nil),
            ("cast(5 AS String)", "5"), ("cast(2.5 AS varchar)", "2.5"), ("cast(true AS String)", "true"),
            ("cast([1,'a'] AS String)", #"[1,"a"]"#), ("cast({'k':null} AS String)", #"{"k":null}"#),
            ("cast(null AS String)", nil), ("cast(missing AS String)", nil),
        ] as [(String, Value?)])
    func cast(_ expression: String, _ expected: Value?) throws {
        #expect(try value(expression) == expected)
    }

    @Test(
        arguments: [
            ("0", 0.0), ("-1.2", -1.2), ("5E-12", 5e-12), ("5e3", 5000.0), ("12", 12.0),
        ] as [(String, Double)])
    func decimalStrings(_ text: String, _ expected: Double) {
        #expect(Conversions.parseDecimalString(text) == expected)
    }

    @Test(arguments: ["", "-", "+1", ".5", "5.", "1E+5", " 1", "1 ", "0x10", "NaN", "Infinity", "1e", "1.2.3", "--1"])
    func nonDecimalStrings(_ text: String) {
        #expect(Conversions.parseDecimalString(text) == nil)
    }

    @Test func toIntRoundsDecimalsAndTruncatesStrings() {
        #expect(Conversions.toInt(.double(2.5)) == 3)
        #expect(Conversions.toInt(.double(-2.5)) == -3)
        #expect(Conversions.toInt(.string("2.9")) == 2)
        #expect(Conversions.toInt(.bool(true)) == nil)
        #expect(Conversions.toInt(.double(.infinity)) == nil)
    }

    @Test func toStringTable() {
        #expect(Conversions.toString(.int(-7)) == "-7")
        #expect(Conversions.toString(.double(0.5)) == "0.5")
        #expect(Conversions.toString(.bool(false)) == "false")
        #expect(Conversions.toString(.array([.string("a"), .null, .int(1)])) == #"["a",null,1]"#)
        #expect(Conversions.toString(.null) == nil)
        #expect(Conversions.toString(nil) == nil)
    }
}
