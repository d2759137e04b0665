import SignalboxJSON
import Testing

/// Numbers: integers stay `Int64` while they fit, everything else is a `Double`; RFC 8259 grammar.
struct JSONParserNumberTests {
    static let integers: [(json: String, expected: Int64)] = [
        ("0", 0),
        ("-0", 0),
        ("7", 7),
        ("-7", -7),
        ("1732200000123", 1_732_200_000_123),
        ("9007199254740993", 9_007_199_254_740_993),
        ("999999999999999999", 999_999_999_999_999_999),
        ("9223372036854775807", .max),
        ("-9223372036854775807", -.max),
        ("-9223372036854775808", .min),
    ]

    @Test(arguments: integers)
    func parsesInteger(json: String, expected: Int64) throws {
        #expect(try JSONParser.parse(json) == .int(expected))
    }

    static let doubles: [(json: String, expected: Double)] = [
        ("0.0", 0.0),
        ("1.0", 1.0),
        ("-1.5", -1.5),
        ("0.1", 0.1),
        ("4.75", 4.75),
        ("61.2", 61.2),
        ("3.141592653589793", 3.141592653589793),
        ("3.14159265358979323846264338327950288", Double.pi),
        ("1e2", 100),
        ("1E2", 100),
        ("1e+2", 100),
        ("1e-2", 0.01),
        ("1E-2", 0.01),
        ("2.5e-3", 0.0025),
        ("0e0", 0),
        ("1e0", 1),
        ("1e-0", 1),
        ("1e007", 1e7),
        ("-1.25e+10", -1.25e10),
        ("123456789e-5", 1234.56789),
        ("1e22", 1e22),
        ("1e23", 1e23),
        ("1e308", 1e308),
        ("1.7976931348623157e308", .greatestFiniteMagnitude),
        ("-1.7976931348623157e308", -.greatestFiniteMagnitude),
        ("2.2250738585072014e-308", .leastNormalMagnitude),
        ("5e-324", .leastNonzeroMagnitude),
        ("4.9406564584124654e-324", .leastNonzeroMagnitude),
        ("1e-400", 0),
        ("0.000000000000000000000000000001e30", 1),
        ("9223372036854775808", 9_223_372_036_854_775_808.0),
        ("-9223372036854775809", -9_223_372_036_854_775_809.0),
        ("18446744073709551616", 18_446_744_073_709_551_616.0),
        ("123456789012345678901234567890", 123_456_789_012_345_678_901_234_567_890.0),
        ("9007199254740993.0", 9_007_199_254_740_992),
        ("0.30000000000000004", 0.30000000000000004),
        ("1.00000000000000000000001", 1),
        ("100000000000000000000000000000000000000e-38", 1),
    ]

    @Test(arguments: doubles)
    func parsesDouble(json: String, expected: Double) throws {
        let value = try JSONParser.parse(json)
        guard case .double(let parsed) = value else {
            Issue.record("expected a double, got \(value)")
            return
        }
        #expect(parsed.bitPattern == expected.bitPattern)
    }

    @Test func negativeZero() throws {
        // An integer has no negative zero; a decimal keeps its sign.
        #expect(try JSONParser.parse("-0") == .int(0))
        let decimal = try JSONParser.parse("-0.0")
        #expect(decimal == .double(0))
        guard case .double(let d) = decimal else { return }
        #expect(d.sign == .minus)
        guard case .double(let e) = try JSONParser.parse("-0e5") else { return }
        #expect(e.sign == .minus && e == 0)
    }

    @Test func integerAndDecimalStayApart() throws {
        #expect(try JSONParser.parse("1") == .int(1))
        #expect(try JSONParser.parse("1.0") == .double(1))
        #expect(try JSONParser.parse("1e0") == .double(1))
        #expect(try JSONParser.parse("1") != JSONParser.parse("1.0"))
    }

    static let rejected: [Rejection] = [
        Rejection("01", .invalidNumber, at: 0),
        Rejection("00", .invalidNumber, at: 0),
        Rejection("-01", .invalidNumber, at: 0),
        Rejection("[1, 007]", .invalidNumber, at: 4),
        Rejection("1.", .invalidNumber, at: 2),
        Rejection("1.e5", .invalidNumber, at: 2),
        Rejection("[1.]", .invalidNumber, at: 3),
        Rejection(".5", .unexpectedCharacter, at: 0),
        Rejection("-.5", .invalidNumber, at: 1),
        Rejection("+1", .unexpectedCharacter, at: 0),
        Rejection("-", .invalidNumber, at: 1),
        Rejection("--1", .invalidNumber, at: 1),
        Rejection("- 1", .invalidNumber, at: 1),
        Rejection("-a", .invalidNumber, at: 1),
        Rejection("1e", .invalidNumber, at: 2),
        Rejection("1E", .invalidNumber, at: 2),
        Rejection("1e+", .invalidNumber, at: 3),
        Rejection("1e-", .invalidNumber, at: 3),
        Rejection("1ee5", .invalidNumber, at: 2),
        Rejection("1e+-5", .invalidNumber, at: 3),
        Rejection("1.5.2", .trailingData, at: 3),
        Rejection("0x10", .trailingData, at: 1),
        Rejection("1_000", .trailingData, at: 1),
        Rejection("Infinity", .unexpectedCharacter, at: 0),
        Rejection("-Infinity", .invalidNumber, at: 1),
        Rejection("NaN", .unexpectedCharacter, at: 0),
        // Finite decimals only: a magnitude beyond Double is an error, not infinity.
        Rejection("1e400", .invalidNumber, at: 0),
        Rejection("-1e400", .invalidNumber, at: 0),
        Rejection("[0, 1.8e308]", .invalidNumber, at: 4),
        Rejection("1" + String(repeating: "0", count: 400), .invalidNumber, at: 0),
    ]

    @Test(arguments: rejected)
    func rejectsMalformedNumber(_ rejection: Rejection) {
        expectRejected(rejection)
    }

    @Test func hugeExponentsDoNotOverflow() throws {
        #expect(try JSONParser.parse("0e99999999999999999999") == .double(0))
        #expect(try JSONParser.parse("1e-99999999999999999999") == .double(0))
        #expect(parseError("1e99999999999999999999")?.code == .invalidNumber)
    }

    @Test func longMantissas() throws {
        let digits = String(repeating: "1234567890", count: 100)
        guard case .double(let d) = try JSONParser.parse("0." + digits) else {
            Issue.record("expected a double")
            return
        }
        #expect(d == 0.12345678901234568)
        #expect(try JSONParser.parse(digits + "e-990") == .double(1.2345678901234568e9))
    }
}
