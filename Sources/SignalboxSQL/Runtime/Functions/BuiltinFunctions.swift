import SignalboxJSON

/// Every SQL function of the rule language, by name.
///
/// The functions are those of the AWS IoT SQL reference (version 2016-03-23) that can run without
/// AWS, plus the Signalbox extension `get_shadow`. Names match case-insensitively (`Round(1.5)` is
/// `round(1.5)`). Functions that need an AWS service are listed in ``cloudOnly`` with the reason
/// shown to users.
///
/// For example:
/// ```swift
/// if case .unary(let abs) = BuiltinFunctions.named("ABS")?.body {
///     abs(.int(-5))   // .int(5)
/// }
/// ```
package enum BuiltinFunctions {
    /// All functions, keyed by lowercased name.
    package static let all: [String: BuiltinFunction] = {
        var table: [String: BuiltinFunction] = [:]
        let families: [[BuiltinFunction]] = [
            MathFunctions.all, BitFunctions.all, StringFunctions.all, HashFunctions.all, RegexFunctions.all,
            TimeFunctions.all, EncodingFunctions.all, ContextFunctions.all, CollectionFunctions.all,
        ]
        for family in families {
            for function in family {
                precondition(table[function.name.lowercased()] == nil, "duplicate SQL function")  // programmer error
                table[function.name.lowercased()] = function
            }
        }
        return table
    }()

    /// The function called `name`, in any letter case, or nil if there is none.
    package static func named(_ name: String) -> BuiltinFunction? {
        if let function = all[name] { return function }
        return all[name.lowercased()]
    }

    /// Functions of AWS IoT SQL that call AWS services, which Signalbox cannot do: lowercased name →
    /// the reason shown to the user when a rule uses one.
    package static let cloudOnly: [String: String] = [
        "aws_lambda":
            "aws_lambda() inside SQL is not supported yet; call a function deployed on Signalbox with the "
            + "lambda action in rules.yaml instead",
        "get_dynamodb":
            "get_dynamodb reads an Amazon DynamoDB table, which Signalbox cannot reach; keep per-device data in "
            + "a shadow and read it with get_shadow(thing) instead",
        "get_secret":
            "get_secret reads AWS Secrets Manager, which Signalbox cannot reach; put secrets in the handler "
            + "function's configuration (environment variables) instead",
        "machinelearning_predict":
            "machinelearning_predict calls Amazon Machine Learning, which Signalbox cannot reach; call your "
            + "model from a handler function instead",
        "get_registry_data":
            "get_registry_data reads the AWS IoT thing registry, which Signalbox does not have; keep thing "
            + "attributes in a shadow and read them with get_shadow(thing) instead",
    ]

    /// Decoding schemes of `decode(value, scheme, …)` that need AWS: scheme → reason. `decode` with one
    /// of these schemes returns Undefined at run time; a resolver can report a constant scheme at load.
    package static let cloudOnlyDecodingSchemes: [String: String] = [
        "proto":
            "decode(…, 'proto') reads a protobuf descriptor from Amazon S3, which Signalbox cannot reach; "
            + "decode protobuf payloads in a handler function instead"
    ]
}

// MARK: - Argument helpers shared by the function families

/// Argument conversions used by several families ("rounded down to the nearest Int" and friends).
enum FunctionSupport {
    /// Int as it is; Decimal rounded down (floor); a numeric String parsed as Decimal and rounded
    /// down; anything else (or a value out of the Int range) → nil.
    static func flooredInt(_ value: Value?) -> Int64? {
        switch value {
        case .int(let i): return i
        case .double(let d): return Conversions.int64(d.rounded(.down))
        case .string(let s): return Conversions.parseDecimalString(s).flatMap { Conversions.int64($0.rounded(.down)) }
        default: return nil
        }
    }

    /// Like ``flooredInt(_:)`` but a number beyond the Int range clamps to `Int.min`/`Int.max`
    /// instead of failing (for indices and counts that are clamped anyway).
    static func clampedFlooredInt(_ value: Value?) -> Int? {
        let d: Double
        switch value {
        case .int(let i): return Int(clamping: i)
        case .double(let x): d = x
        case .string(let s):
            guard let x = Conversions.parseDecimalString(s) else { return nil }
            d = x
        default: return nil
        }
        guard !d.isNaN else { return nil }
        let floored = d.rounded(.down)
        if floored <= -9.2e18 { return Int.min }
        if floored >= 9.2e18 { return Int.max }
        return Int(floored)
    }

    /// A Decimal result: nil (Undefined) when it is NaN or infinite, which JSON cannot carry.
    static func decimal(_ d: Double) -> Value? {
        d.isFinite ? .double(d) : nil
    }

    /// An Int result from a whole Double, or a Decimal when it does not fit in an Int; Undefined
    /// when not finite.
    static func integral(_ d: Double) -> Value? {
        guard d.isFinite else { return nil }
        if let i = Conversions.int64(d) { return .int(i) }
        return .double(d)
    }

    /// The Unicode scalars of `s` between scalar offsets `start` and `end` (already clamped).
    static func scalarSlice(_ s: String, from start: Int, to end: Int) -> String {
        guard start < end else { return "" }
        let scalars = s.unicodeScalars
        guard let lower = scalars.index(scalars.startIndex, offsetBy: start, limitedBy: scalars.endIndex) else {
            return ""
        }
        let upper = scalars.index(lower, offsetBy: end - start, limitedBy: scalars.endIndex) ?? scalars.endIndex
        return String(scalars[lower..<upper])
    }

    /// The number of Unicode scalars in `s` (the rule language's "characters").
    static func characterCount(_ s: String) -> Int {
        var count = 0
        for byte in s.utf8 where byte & 0xC0 != 0x80 { count += 1 }
        return count
    }
}
