import SignalboxJSON

/// The AWS IoT SQL implicit conversions ("Data types → Conversions" in the AWS IoT developer guide).
///
/// `nil` is Undefined throughout. These are the conversions applied when a value of the wrong
/// type is given to an operator or function; `cast(… AS …)` has its own table (``Cast``).
package enum Conversions {
    /// To Decimal: Int → Decimal; Decimal → itself; String matching
    /// `^-?\d+(\.\d+)?((?i)E-?\d+)?$` → parsed; Null → Null; anything else → Undefined.
    ///
    /// Returns the numeric result as `Double`; Null maps to `.null` in ``toDecimalValue(_:)``.
    @inlinable
    package static func toDecimal(_ value: Value?) -> Double? {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return parseDecimalString(s)
        default: return nil
        }
    }

    /// To Decimal as a value: like ``toDecimal(_:)`` but keeps Null as Null.
    package static func toDecimalValue(_ value: Value?) -> Value? {
        if case .null = value { return .null }
        return toDecimal(value).map(Value.double)
    }

    /// To Int: Int → itself; Decimal → rounded to the nearest Int (halves away from zero);
    /// String → parsed as Decimal, then truncated; anything else → Undefined (Null handled by callers).
    @inlinable
    package static func toInt(_ value: Value?) -> Int64? {
        switch value {
        case .int(let i): return i
        case .double(let d): return int64(d.rounded(.toNearestOrAwayFromZero))
        case .string(let s):
            guard let d = parseDecimalString(s) else { return nil }
            return int64(d.rounded(.towardZero))
        default: return nil
        }
    }

    /// `Double` to `Int64` when it is finite and in range.
    @inlinable
    package static func int64(_ d: Double) -> Int64? {
        guard d.isFinite, d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else { return nil }
        return Int64(d)
    }

    /// To Boolean: Boolean → itself; the strings "true"/"false" (any case) → Boolean; else Undefined.
    @inlinable
    package static func toBool(_ value: Value?) -> Bool? {
        switch value {
        case .bool(let b): return b
        case .string(let s): return parseBoolString(s)
        default: return nil
        }
    }

    /// To String: strings as they are; numbers and booleans in their JSON form; arrays and objects
    /// serialized as compact JSON; Null and Undefined → Undefined.
    package static func toString(_ value: Value?) -> String? {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return formatDecimal(d)
        case .bool(let b): return b ? "true" : "false"
        case .array, .object: return value.map { JSONSerializer.string($0) }
        case .null, nil: return nil
        }
    }

    /// How a Decimal prints: Swift's shortest round-trip form (`2.5`, `3.0`, `1e-07`).
    package static func formatDecimal(_ d: Double) -> String {
        var bytes: [UInt8] = []
        JSONSerializer.appendDouble(d, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses the strings AWS converts to Decimal: `^-?\d+(\.\d+)?((?i)E-?\d+)?$`.
    package static func parseDecimalString(_ s: String) -> Double? {
        var utf8 = s.utf8.makeIterator()
        var state = 0  // 0 start, 1 int digits, 2 after '.', 3 fraction digits, 4 after 'E', 5 after 'E-', 6 exp digits
        var sawMinus = false
        while let byte = utf8.next() {
            let isDigit = byte &- UInt8(ascii: "0") < 10
            switch state {
            case 0:
                if byte == UInt8(ascii: "-") && !sawMinus {
                    sawMinus = true
                } else if isDigit {
                    state = 1
                } else {
                    return nil
                }
            case 1:
                if isDigit {
                } else if byte == UInt8(ascii: ".") {
                    state = 2
                } else if byte | 0x20 == UInt8(ascii: "e") {
                    state = 4
                } else {
                    return nil
                }
            case 2:
                guard isDigit else { return nil }
                state = 3
            case 3:
                if isDigit {
                } else if byte | 0x20 == UInt8(ascii: "e") {
                    state = 4
                } else {
                    return nil
                }
            case 4:
                if byte == UInt8(ascii: "-") {
                    state = 5
                } else if isDigit {
                    state = 6
                } else {
                    return nil
                }
            case 5:
                guard isDigit else { return nil }
                state = 6
            default:
                guard isDigit else { return nil }
            }
        }
        guard state == 1 || state == 3 || state == 6 else { return nil }
        return Double(s)
    }

    /// "true"/"false" in any case.
    @inlinable
    package static func parseBoolString(_ s: String) -> Bool? {
        let utf8 = s.utf8
        if utf8.count == 4 {
            var it = utf8.makeIterator()
            if it.next().map({ $0 | 0x20 }) == UInt8(ascii: "t"), it.next().map({ $0 | 0x20 }) == UInt8(ascii: "r"),
                it.next().map({ $0 | 0x20 }) == UInt8(ascii: "u"), it.next().map({ $0 | 0x20 }) == UInt8(ascii: "e")
            {
                return true
            }
        } else if utf8.count == 5 {
            if s.lowercased() == "false" { return false }
        }
        return nil
    }

    /// Whether the value is an Int or a Decimal.
    @inlinable
    package static func isNumber(_ value: Value?) -> Bool {
        switch value {
        case .int, .double: true
        default: false
        }
    }
}

/// `cast(value AS type)`, with the cast tables of the AWS IoT developer guide.
///
/// Unlike the implicit conversions: Boolean casts to numbers (true = 1, false = 0); numbers cast
/// to Boolean (0 = false, anything else = true); Decimal → Int rounds down (floor); Null → Undefined.
/// Under SQL version 2016-03-23 a whole-number Decimal cast to Decimal comes back as an Int
/// (`cast(10.0 AS Decimal)` = `10`), as the guide notes.
package enum Cast {
    /// The cast type a name denotes (`Int`, `Integer`, `Decimal`, `Double`, `Bool`, `Boolean`,
    /// `String`, `Varchar`, `Nvarchar`, `Text`, `Ntext`), case-insensitive.
    package static func type(named name: String) -> Expr.CastType? {
        switch name.lowercased() {
        case "int", "integer": .int
        case "decimal", "double": .decimal
        case "bool", "boolean": .bool
        case "string", "varchar", "nvarchar", "text", "ntext": .string
        default: nil
        }
    }

    /// The names accepted as cast types, for "did you mean".
    package static let typeNames = [
        "Int", "Integer", "Decimal", "Double", "Bool", "Boolean", "String", "Varchar", "Nvarchar", "Text", "Ntext",
    ]

    /// Casts `value` to `type`.
    package static func apply(_ value: Value?, to type: Expr.CastType) -> Value? {
        switch type {
        case .int:
            switch value {
            case .int: return value
            case .double(let d): return Conversions.int64(d.rounded(.down)).map(Value.int)
            case .bool(let b): return .int(b ? 1 : 0)
            case .string(let s):
                return Conversions.parseDecimalString(s).flatMap { Conversions.int64($0.rounded(.down)) }.map(
                    Value.int)
            default: return nil
            }
        case .decimal:
            switch value {
            case .int: return value
            case .double(let d):
                if d.rounded() == d, let i = Conversions.int64(d) { return .int(i) }
                return value
            case .bool(let b): return .double(b ? 1 : 0)
            case .string(let s): return Conversions.parseDecimalString(s).map(Value.double)
            default: return nil
            }
        case .bool:
            switch value {
            case .int(let i): return .bool(i != 0)
            case .double(let d): return .bool(d != 0)
            case .bool: return value
            case .string(let s): return Conversions.parseBoolString(s).map(Value.bool)
            default: return nil
            }
        case .string:
            switch value {
            case .null, nil: return nil
            default: return Conversions.toString(value).map(Value.string)
            }
        }
    }
}
