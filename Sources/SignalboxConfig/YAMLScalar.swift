import Yams

/// The type of a YAML scalar under the YAML 1.2 core schema.
///
/// Signalbox does not use YAML 1.1's extra booleans (`yes`, `on`…), sexagesimal numbers or
/// timestamps: in a rules file, `on` and `12:30` are strings. Quoted and block scalars are always
/// strings; explicit tags (`!!str 10`) are honoured.
enum YAMLScalar: Equatable {
    /// `null`, `~` or nothing.
    case null
    /// `true` or `false` (any capitalisation YAML 1.2 allows).
    case bool(Bool)
    /// Decimal, `0x` hex or `0o` octal.
    case int(Int64)
    /// A decimal number, `.inf` or `.nan`.
    case double(Double)
    /// Anything else, and every quoted or block scalar.
    case string
    /// An explicit tag whose text does not fit it (`!!int abc`), or an unknown tag.
    case invalid(String)

    /// The prefix of the standard tags (`!!str` is `tag:yaml.org,2002:str`).
    static let tagPrefix = "tag:yaml.org,2002:"

    /// Resolves `scalar`.
    static func resolve(_ scalar: Node.Scalar) -> YAMLScalar {
        let tag = scalar.tag.rawValue
        let text = scalar.string
        switch tag {
        case "":
            return scalar.style == .plain || scalar.style == .any ? resolvePlain(text) : .string
        case "!", tagPrefix + "str": return .string
        case tagPrefix + "null":
            return resolvePlain(text) == .null ? .null : .invalid("a value tagged !!null must be empty or null")
        case tagPrefix + "bool":
            if case .bool(let b) = resolvePlain(text) { return .bool(b) }
            return .invalid("a value tagged !!bool must be true or false")
        case tagPrefix + "int":
            if case .int(let i) = resolvePlain(text) { return .int(i) }
            return .invalid("a value tagged !!int must be an integer")
        case tagPrefix + "float":
            switch resolvePlain(text) {
            case .int(let i): return .double(Double(i))
            case .double(let d): return .double(d)
            default: return .invalid("a value tagged !!float must be a number")
            }
        default:
            return .invalid("unsupported YAML tag '\(tag)'")
        }
    }

    /// Resolves the text of a plain scalar (core schema).
    static func resolvePlain(_ text: String) -> YAMLScalar {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        let bytes = Array(text.utf8)
        if bytes.starts(with: Array("0x".utf8)), bytes.count > 2 {
            return Int64(String(decoding: bytes.dropFirst(2), as: UTF8.self), radix: 16).map { .int($0) } ?? .string
        }
        if bytes.starts(with: Array("0o".utf8)), bytes.count > 2 {
            return Int64(String(decoding: bytes.dropFirst(2), as: UTF8.self), radix: 8).map { .int($0) } ?? .string
        }
        let digits =
            bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") ? bytes.dropFirst() : bytes[...]
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        if !digits.isEmpty, digits.allSatisfy(isDigit) {
            if let value = Int64(text) { return .int(value) }
            return Double(text).map { .double($0) } ?? .string
        }
        if isFloat(digits), let value = Double(text) { return .double(value) }
        return .string
    }

    /// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`, sign already removed.
    static func isFloat(_ bytes: ArraySlice<UInt8>) -> Bool {
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        var i = bytes.startIndex
        let intStart = i
        while i < bytes.endIndex, isDigit(bytes[i]) { i += 1 }
        var mantissaDigits = i - intStart
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < bytes.endIndex, isDigit(bytes[i]) { i += 1 }
            mantissaDigits += i - fractionStart
        }
        guard mantissaDigits > 0 else { return false }
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.endIndex, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
            let exponentStart = i
            while i < bytes.endIndex, isDigit(bytes[i]) { i += 1 }
            guard i > exponentStart else { return false }
        }
        return i == bytes.endIndex
    }
}
