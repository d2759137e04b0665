import SignalboxJSON
import SignalboxTestSupport

/// Generates random JSON values, and random but valid ways of writing them, from a seed.
///
/// Values mix every kind: nested arrays and objects, strings with quotes, backslashes, control
/// characters and astral-plane scalars, integers across `Int64`, and finite doubles from random
/// bit patterns as well as short decimals.
struct JSONGenerator {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    // MARK: Values

    /// A random value nested at most `depth` levels.
    mutating func value(depth: Int = 6) -> Value {
        let roll = random.int(0..<100)
        if depth > 0 && roll < 12 { return .array((0..<random.int(0...6)).map { _ in value(depth: depth - 1) }) }
        if depth > 0 && roll < 24 { return .object(object(depth: depth - 1)) }
        switch roll % 6 {
        case 0: return random.chance(0.5) ? .null : .bool(random.chance(0.5))
        case 1, 2: return .int(integer())
        case 3, 4: return .double(double())
        default: return .string(string())
        }
    }

    /// A random object (keys may be empty or contain escapes; duplicates collapse).
    mutating func object(depth: Int) -> JSONObject {
        var object = JSONObject()
        for _ in 0..<random.int(0...(random.chance(0.1) ? 30 : 6)) {
            object[random.chance(0.7) ? identifier() : string()] = value(depth: depth)
        }
        return object
    }

    mutating func identifier() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        return String((0..<random.int(1...12)).map { _ in random.pick(letters) })
    }

    mutating func integer() -> Int64 {
        switch random.int(0..<6) {
        case 0: Int64.random(in: .min ... .max, using: &random)
        case 1: random.pick([Int64.min, .min + 1, -1, 0, 1, .max - 1, .max])
        default: Int64(random.int(-100_000...100_000))
        }
    }

    mutating func double() -> Double {
        switch random.int(0..<5) {
        case 0:
            var d = Double(bitPattern: random.next())
            while !d.isFinite { d = Double(bitPattern: random.next()) }
            return d
        case 1:
            return random.pick([
                0.0, -0.0, 1, -1, 0.5, 1e-7, 1e16, 1e22, 1e23, .leastNonzeroMagnitude,
                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude,
            ])
        case 2: return Double(random.int(-1_000_000...1_000_000)) / 100
        case 3: return Double(random.int(-1_000_000...1_000_000))
        default: return Double.random(in: -1e6...1e6, using: &random)
        }
    }

    /// A random string drawing from ASCII, JSON's special characters, controls, the BMP and the
    /// astral planes.
    mutating func string() -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<random.int(0...(random.chance(0.05) ? 200 : 16)) { scalars.append(scalar()) }
        return String(scalars)
    }

    mutating func scalar() -> Unicode.Scalar {
        let value: UInt32
        switch random.int(0..<10) {
        case 0, 1, 2: value = UInt32(random.int(0x20...0x7E))
        case 3: value = random.pick([0x22, 0x5C, 0x2F, 0x08, 0x0C, 0x0A, 0x0D, 0x09, 0x00, 0x7F])
        case 4: value = UInt32(random.int(0x00...0x1F))
        case 5: value = UInt32(random.int(0x80...0x7FF))
        case 6, 7:
            var bmp = UInt32(random.int(0x800...0xFFFF))
            if (0xD800...0xDFFF).contains(bmp) { bmp = 0xFFFD }
            value = bmp
        case 8: value = random.pick([0x1F600, 0x1F9CA, 0x1D11E, 0x10000, 0x10FFFF, 0x2028, 0xFEFF])
        default: value = UInt32(random.int(0x10000...0x10FFFF))
        }
        return Unicode.Scalar(value) ?? "?"
    }

    // MARK: Writing

    /// `value` as valid JSON text written differently from ``JSONSerializer``: random whitespace,
    /// `\u` escapes (surrogate pairs for astral scalars) for any character, and numbers with
    /// exponents, trailing zeros and moved decimal points.
    mutating func text(_ value: Value) -> String {
        var out = ""
        write(value, to: &out)
        space(&out)
        return out
    }

    mutating func space(_ out: inout String) {
        guard random.chance(0.3) else { return }
        for _ in 0..<random.int(1...3) { out.append(random.pick([" ", "\t", "\r", "\n"])) }
    }

    mutating func write(_ value: Value, to out: inout String) {
        space(&out)
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += number(d)
        case .string(let s): write(string: s, to: &out)
        case .array(let elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                write(element, to: &out)
                space(&out)
            }
            space(&out)
            out += "]"
        case .object(let object):
            out += "{"
            for (i, member) in object.enumerated() {
                if i > 0 { out += "," }
                space(&out)
                write(string: member.key, to: &out)
                space(&out)
                out += ":"
                write(member.value, to: &out)
                space(&out)
            }
            space(&out)
            out += "}"
        }
    }

    mutating func write(string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            let short: String? =
                switch scalar {
                case "\"": #"\""#
                case "\\": #"\\"#
                case "\n": #"\n"#
                case "\r": #"\r"#
                case "\t": #"\t"#
                case "\u{08}": #"\b"#
                case "\u{0C}": #"\f"#
                case "/": random.chance(0.5) ? #"\/"# : nil
                default: nil
                }
            let mustEscape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\"
            if let short, !mustEscape || random.chance(0.7) {
                out += short
            } else if mustEscape || random.chance(0.2) {
                out += unicodeEscape(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    mutating func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        let upper = random.chance(0.5)
        func hex4(_ unit: UInt32) -> String {
            let digits = String(unit, radix: 16, uppercase: upper)
            return #"\u"# + String(repeating: "0", count: 4 - digits.count) + digits
        }
        guard scalar.value >= 0x10000 else { return hex4(scalar.value) }
        let offset = scalar.value - 0x10000
        return hex4(0xD800 + (offset >> 10)) + hex4(0xDC00 + (offset & 0x3FF))
    }

    /// `double` in one of several equivalent decimal spellings.
    mutating func number(_ double: Double) -> String {
        let shortest = double.description  // "-1.25", "1e-07", "1.5e+300"
        guard random.chance(0.6) else { return shortest }
        // Split into sign, digits, and the exponent of the last digit.
        var text = Substring(shortest)
        let negative = text.first == "-"
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(String(text[text.index(after: e)...].filter { $0 != "+" })) ?? 0
            text = text[..<e]
        }
        var digits = String(text)
        if let dot = digits.firstIndex(of: ".") {
            exponent -= digits.distance(from: dot, to: digits.endIndex) - 1
            digits.remove(at: dot)
        }
        // Drop leading zeros (JSON forbids them) but keep one digit.
        while digits.count > 1 && digits.first == "0" { digits.removeFirst() }
        let zeros = digits == "0" ? 0 : random.int(0...3)
        digits += String(repeating: "0", count: zeros)
        exponent -= zeros
        let sign = negative ? "-" : ""
        let e = random.pick(["e", "E"])
        switch random.int(0..<3) {
        case 0:
            return sign + digits + e + (exponent >= 0 && random.chance(0.5) ? "+" : "") + String(exponent)
        case 1:
            // One digit before the point: d.ddd e(exponent + count - 1).
            let rest = digits.dropFirst()
            return sign + String(digits.prefix(1)) + "." + (rest.isEmpty ? "0" : rest) + e
                + String(exponent + digits.count - 1)
        default:
            // 0.ddd e(exponent + count).
            return sign + "0." + digits + e + String(exponent + digits.count)
        }
    }
}
