import SignalboxJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The numeric SQL functions: `abs`, `sign`, `ceil`, `floor`, `round`, `trunc`, `mod`, `remainder`,
/// `power`, `sqrt`, `exp`, `ln`, `log`, the trigonometric and hyperbolic functions and `atan2`.
///
/// Arguments go through the "To Decimal" conversion (numeric strings are parsed; Booleans, arrays,
/// objects, Null and Undefined give Undefined). Decimals are IEEE doubles, not AWS's 34-digit
/// decimals. A result that is not a finite number (`sqrt(-1)`, `ln(0)`, `acos(2)`) is Undefined.
enum MathFunctions {
    /// The functions of this family.
    static let all: [BuiltinFunction] = [
        BuiltinFunction(name: "abs", arity: 1...1, body: .unary(abs)),
        BuiltinFunction(name: "sign", arity: 1...1, body: .unary(sign)),
        BuiltinFunction(name: "ceil", arity: 1...1, body: .unary { rounding($0, .up) }),
        BuiltinFunction(name: "floor", arity: 1...1, body: .unary { rounding($0, .down) }),
        BuiltinFunction(name: "round", arity: 1...1, body: .unary { rounding($0, .toNearestOrAwayFromZero) }),
        BuiltinFunction(name: "trunc", arity: 2...2, body: .binary(trunc)),
        BuiltinFunction(name: "mod", arity: 2...2, body: .binary { Operators.arithmetic(.modulo, $0, $1) }),
        BuiltinFunction(name: "remainder", arity: 2...2, body: .binary { Operators.arithmetic(.modulo, $0, $1) }),
        binaryDecimal("power") { pow($0, $1) },
        binaryDecimal("atan2") { atan2($0, $1) },
        unaryDecimal("sqrt") { $0.squareRoot() },
        unaryDecimal("exp") { exp($0) },
        unaryDecimal("ln") { log($0) },
        unaryDecimal("log") { log10($0) },
        unaryDecimal("sin") { sin($0) },
        unaryDecimal("cos") { cos($0) },
        unaryDecimal("tan") { tan($0) },
        unaryDecimal("asin") { asin($0) },
        unaryDecimal("acos") { acos($0) },
        unaryDecimal("atan") { atan($0) },
        unaryDecimal("sinh") { sinh($0) },
        unaryDecimal("cosh") { cosh($0) },
        unaryDecimal("tanh") { tanh($0) },
    ]

    /// A function of one Decimal giving a double-precision Decimal.
    static func unaryDecimal(_ name: String, _ f: @escaping @Sendable (Double) -> Double) -> BuiltinFunction {
        BuiltinFunction(
            name: name, arity: 1...1,
            body: .unary { value in
                guard let x = Conversions.toDecimal(value) else { return nil }
                return FunctionSupport.decimal(f(x))
            })
    }

    /// A function of two Decimals giving a double-precision Decimal.
    static func binaryDecimal(_ name: String, _ f: @escaping @Sendable (Double, Double) -> Double) -> BuiltinFunction {
        BuiltinFunction(
            name: name, arity: 2...2,
            body: .binary { lhs, rhs in
                guard let x = Conversions.toDecimal(lhs), let y = Conversions.toDecimal(rhs) else { return nil }
                return FunctionSupport.decimal(f(x, y))
            })
    }

    /// `abs`: Int → Int, Decimal → Decimal, numeric String → Decimal.
    @Sendable static func abs(_ value: Value?) -> Value? {
        switch value {
        case .int(let i): return i == .min ? .double(-Double(i)) : .int(Swift.abs(i))
        case .double(let d): return .double(Swift.abs(d))
        case .string(let s): return Conversions.parseDecimalString(s).map { .double(Swift.abs($0)) }
        default: return nil
        }
    }

    /// `sign`: -1, 0 or 1 as an Int, for an Int, a Decimal or a numeric String.
    @Sendable static func sign(_ value: Value?) -> Value? {
        switch value {
        case .int(let i): return .int(i.signum())
        default:
            guard let d = Conversions.toDecimal(value), !d.isNaN else { return nil }
            return .int(d > 0 ? 1 : d < 0 ? -1 : 0)
        }
    }

    /// `ceil`, `floor`, `round`: an Int stays; a Decimal or numeric String is rounded to an Int
    /// (a Decimal beyond the Int range stays a whole Decimal).
    static func rounding(_ value: Value?, _ rule: FloatingPointRoundingRule) -> Value? {
        if case .int = value { return value }
        guard let d = Conversions.toDecimal(value) else { return nil }
        return FunctionSupport.integral(d.rounded(rule))
    }

    /// `trunc(x, places)`: `x` truncated toward zero to `places` decimal places (clamped to 0…34),
    /// trailing zeros stripped, so a whole result is an Int. `places` must be an Int or a Decimal
    /// (rounded down); an Int `x` is returned as it is.
    @Sendable static func trunc(_ value: Value?, _ places: Value?) -> Value? {
        let digits: Int
        switch places {
        case .int(let i): digits = Int(clamping: i)
        case .double(let d):
            guard !d.isNaN else { return nil }
            digits = d < 0 ? 0 : d > 34 ? 34 : Int(d.rounded(.down))
        default: return nil
        }
        if case .int = value { return value }
        guard let x = Conversions.toDecimal(value), x.isFinite else { return nil }
        let truncated = truncate(x, places: min(max(digits, 0), 34))
        if truncated.rounded(.towardZero) == truncated { return FunctionSupport.integral(truncated) }
        return .double(truncated)
    }

    /// `x` truncated toward zero to `places` decimal places, working on the shortest decimal text of
    /// `x` so that 2.3 truncates as the 2.3 the user wrote, not as its binary approximation.
    static func truncate(_ x: Double, places: Int) -> Double {
        if x.rounded(.towardZero) == x { return x }
        let text = x.description  // "2.888", "-0.5", "1e-07", "1.2345e+20"
        var negative = false
        var digits: [UInt8] = []
        var integerDigits = 0
        var seenPoint = false
        var exponent = 0
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "-"): negative = true
            case UInt8(ascii: "."): seenPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(byte)
                if !seenPoint { integerDigits += 1 }
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                var rest: [UInt8] = []
                while let next = iterator.next() { rest.append(next) }
                exponent = Int(String(decoding: rest, as: UTF8.self)) ?? 0
            default: break
            }
        }
        let pointPosition = integerDigits + exponent
        let keep = pointPosition + places
        if keep <= 0 { return negative ? -0.0 : 0 }
        if keep >= digits.count { return x }
        let kept = String(decoding: digits[0..<keep], as: UTF8.self)
        return Double((negative ? "-" : "") + kept + "e" + String(pointPosition - keep)) ?? x
    }
}
