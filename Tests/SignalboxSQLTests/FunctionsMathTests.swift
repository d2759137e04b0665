import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// Numeric and bitwise functions: the guide's examples verbatim, then the type tables.
struct FunctionsMathTests {
    static let U = FunctionHarness.U

    /// The examples of the AWS IoT SQL functions page, as written there.
    static let guideExamples: [FunctionCase] = [
        FunctionCase("abs", [-5], 5),
        FunctionCase("acos", [0], 1.5707963267948966),
        FunctionCase("asin", [0], 0.0),
        FunctionCase("atan", [0], 0.0),
        FunctionCase("atan2", [1, 0], 1.5707963267948966),
        FunctionCase("ceil", [1.2], 2),
        FunctionCase("ceil", [-1.2], -1),
        // The guide writes `cos(0)` = 1; cos gives a double-precision Decimal, 1.0.
        FunctionCase("cos", [0], 1.0),
        FunctionCase("cosh", [2.3], 5.037220649268761),
        FunctionCase("exp", [1], 2.718281828459045),
        FunctionCase("floor", [1.2], 1),
        FunctionCase("floor", [-1.2], -2),
        // `ln(e)` = 1: a Decimal, 1.0.
        FunctionCase("ln", [2.718281828459045], 1.0),
        FunctionCase("log", [100], 2.0),
        FunctionCase("mod", [8, 3], 2),
        FunctionCase("power", [2, 5], 32.0),
        FunctionCase("remainder", [8, 3], 2),
        FunctionCase("Round", [1.2], 1),
        FunctionCase("Round", [1.5], 2),
        FunctionCase("Round", [1.7], 2),
        FunctionCase("Round", [-1.1], -1),
        FunctionCase("Round", [-1.5], -2),
        FunctionCase("sign", [-7], -1),
        FunctionCase("sign", [0], 0),
        FunctionCase("sign", [13], 1),
        FunctionCase("sin", [0], 0.0),
        FunctionCase("sinh", [2.3], 4.936961805545957),
        FunctionCase("sqrt", [9], 3.0),
        FunctionCase("tan", [3], -0.1425465430742778),
        FunctionCase("tanh", [2.3], 0.9800963962661914),
        FunctionCase("trunc", [2.3, 0], 2),
        FunctionCase("trunc", [2.3123, 2], 2.31),
        FunctionCase("trunc", [2.888, 2], 2.88),
        FunctionCase("trunc", [2.00, 5], 2),
        FunctionCase("bitand", [13, 5], 5),
        FunctionCase("bitor", [8, 5], 13),
        // The guide's bitxor example is written `bitor(13, 5)` = 8, a typo for bitxor.
        FunctionCase("bitxor", [13, 5], 8),
        // The guide says `bitnot(13)` = 2 (NOT over 4 bits); Ints are 64-bit two's complement here.
        FunctionCase("bitnot", [13], -14),
    ]

    @Test(arguments: guideExamples)
    func guideExample(_ example: FunctionCase) throws { try example.check() }

    /// abs/sign/ceil/floor/round: Int stays Int; Decimal and numeric strings convert; others Undefined.
    static let typeTables: [FunctionCase] = [
        FunctionCase("abs", [-5.123], 5.123), FunctionCase("abs", ["-5.123"], 5.123), FunctionCase("abs", ["5"], 5.0),
        FunctionCase("abs", [true], U), FunctionCase("abs", ["five"], U), FunctionCase("abs", [[1]], U),
        FunctionCase("abs", [["a": 1]], U), FunctionCase("abs", [.null], U), FunctionCase("abs", [U], U),
        FunctionCase("abs", [.int(.min)], 9.223372036854775808e18),
        FunctionCase("sign", [-0.5], -1), FunctionCase("sign", ["2.5"], 1), FunctionCase("sign", ["x"], U),
        FunctionCase("sign", [false], U), FunctionCase("sign", [.null], U),
        FunctionCase("ceil", [5], 5), FunctionCase("ceil", ["1.2"], 2), FunctionCase("ceil", ["x"], U),
        FunctionCase("ceil", [true], U), FunctionCase("ceil", [1e300], 1e300),
        FunctionCase("floor", [-5], -5), FunctionCase("floor", ["-1.2"], -2), FunctionCase("floor", [[1, 2, 3]], U),
        FunctionCase("round", [7], 7), FunctionCase("round", [2.5], 3), FunctionCase("round", [-2.5], -3),
        FunctionCase("round", ["0.5"], 1), FunctionCase("round", [.null], U), FunctionCase("round", [U], U),
        // Decimal functions: Int, Decimal and numeric strings give double-precision Decimals.
        FunctionCase("sqrt", ["16"], 4.0), FunctionCase("sqrt", [2.25], 1.5), FunctionCase("sqrt", [-1], U),
        FunctionCase("acos", [2], U), FunctionCase("asin", ["-2"], U), FunctionCase("acos", [1], 0.0),
        FunctionCase("ln", [0], U), FunctionCase("ln", [-1], U), FunctionCase("log", ["1000"], 3.0),
        FunctionCase("exp", [0], 1.0), FunctionCase("exp", [1000], U), FunctionCase("exp", [true], U),
        FunctionCase("sin", ["0"], 0.0), FunctionCase("cos", ["x"], U), FunctionCase("tan", [.null], U),
        FunctionCase("atan", [U], U), FunctionCase("cosh", [["a"]], U), FunctionCase("sinh", [0], 0.0),
        FunctionCase("tanh", [0], 0.0),
        // atan2(y, x) like Java's Math.atan2.
        FunctionCase("atan2", [0, 1], 0.0), FunctionCase("atan2", ["1", "0"], 1.5707963267948966),
        FunctionCase("atan2", [-1, 0], -1.5707963267948966), FunctionCase("atan2", [1, true], U),
        FunctionCase("atan2", [U, 1], U),
        // power always gives a Decimal; non-real results are Undefined.
        FunctionCase("power", ["2", 0.5], 1.4142135623730951), FunctionCase("power", [-8, 0.5], U),
        FunctionCase("power", [2, "x"], U), FunctionCase("power", [.null, 2], U), FunctionCase("power", [10, 400], U),
        // mod/remainder: Int%Int → Int with the dividend's sign; Decimals and strings → Decimal.
        FunctionCase("mod", [-8, 3], -2), FunctionCase("mod", [8, -3], 2), FunctionCase("mod", [8.5, 3], 2.5),
        FunctionCase("mod", ["8", 3], 2.0), FunctionCase("mod", [8, 0], U), FunctionCase("mod", [8, "x"], U),
        FunctionCase("remainder", [7.5, 2], 1.5), FunctionCase("remainder", [true, 2], U),
        FunctionCase("remainder", [U, 2], U), FunctionCase("mod", [.null, 2], U),
        // trunc: places clamped to 0…34, Decimal places rounded down, String places Undefined.
        FunctionCase("trunc", [5, 2], 5), FunctionCase("trunc", [5, 2.9], 5),
        FunctionCase("trunc", [-2.888, 2], -2.88),
        FunctionCase("trunc", [2.888, -1], 2), FunctionCase("trunc", [2.888, 2.9], 2.88),
        FunctionCase("trunc", ["2.888", 1], 2.8), FunctionCase("trunc", [2.888, 99], 2.888),
        FunctionCase("trunc", [2.888, "2"], U), FunctionCase("trunc", ["x", 2], U),
        FunctionCase("trunc", [true, 2], U),
        FunctionCase("trunc", [2.5, U], U), FunctionCase("trunc", [0.0000001234, 8], 1.2e-7),
        FunctionCase("trunc", [0.30000000000000004, 16], 0.3),
        FunctionCase("trunc", [0.30000000000000004, 17], 0.30000000000000004),
        FunctionCase("trunc", [123456.789, 1], 123456.7), FunctionCase("trunc", [-0.5, 0], 0),
    ]

    @Test(arguments: typeTables)
    func typeTable(_ example: FunctionCase) throws { try example.check() }

    /// Bit functions: Decimals and numeric strings rounded down to Int; anything else Undefined.
    static let bitTables: [FunctionCase] = [
        FunctionCase("bitand", [13.9, 5], 5), FunctionCase("bitand", ["13", "5.5"], 5),
        FunctionCase("bitand", [-1.5, 255], 254), FunctionCase("bitand", [13, "x"], U),
        FunctionCase("bitand", [true, 1], U), FunctionCase("bitand", [U, 1], U), FunctionCase("bitand", [.null, 1], U),
        FunctionCase("bitor", [8.7, "5"], 13), FunctionCase("bitor", [[8], 5], U), FunctionCase("bitor", [1e30, 1], U),
        FunctionCase("bitxor", ["13", 5.2], 8), FunctionCase("bitxor", [["a": 1], 5], U),
        FunctionCase("bitnot", [0], -1), FunctionCase("bitnot", [-1], 0), FunctionCase("bitnot", [13.7], -14),
        FunctionCase("bitnot", ["13"], -14), FunctionCase("bitnot", ["x"], U), FunctionCase("bitnot", [false], U),
        FunctionCase("bitnot", [U], U),
    ]

    @Test(arguments: bitTables)
    func bitTable(_ example: FunctionCase) throws { try example.check() }

    @Test func isUndefinedOfFloorOfArray() throws {
        // The guide's `isUndefined(floor([1,2,3])))` (with its stray parenthesis removed).
        let floored = try FunctionHarness.call("floor", [[1, 2, 3]])
        #expect(try FunctionHarness.call("isUndefined", [floored]) == true)
    }

    @Test(arguments: [(2.3, 0, 2.0), (2.3123, 2, 2.31), (2.888, 2, 2.88), (1.005, 2, 1.0), (-7.77, 1, -7.7)])
    func truncateWorksOnTheWrittenDigits(_ x: Double, _ places: Int, _ expected: Double) {
        #expect(MathFunctions.truncate(x, places: places) == expected)
    }
}
